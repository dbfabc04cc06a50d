// The survey editor (templates/admin/survey_edit.html): each question shows only the settings its
// type uses (a unit for a number, options for a choice…). Without this script every setting is
// shown and those that do not apply are ignored on saving.
(() => {
  function apply(card) {
    const select = card.querySelector("select[name$='_type']");
    if (!select) return;
    for (const el of card.querySelectorAll("[data-types]")) {
      el.hidden = !el.dataset.types.split(" ").includes(select.value);
    }
  }

  function init(root) {
    for (const card of root.querySelectorAll(".survey-question")) apply(card);
  }

  if (!window.surveyEditorReady) {
    window.surveyEditorReady = true;
    document.addEventListener("change", (event) => {
      const target = event.target;
      if (target instanceof HTMLSelectElement && target.name.endsWith("_type")) {
        const card = target.closest(".survey-question");
        if (card) apply(card);
      }
    });
    document.addEventListener("htmx:load", (event) => init(event.target));
  }
  init(document);
})();
