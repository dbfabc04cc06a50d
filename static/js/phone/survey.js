// The household survey (调查表) on the phone, offline: one renderer for every screen that asks it
// (the application form, the village campaign). It draws a survey definition (app/domain/survey.py:
// sections → questions of type number, choice, yesno, money, text, photo), writes each answer into
// the caller's ``answers`` object as it is typed (the caller saves its record on ``onChange``, so
// nothing is lost if the app closes), and checks the answers as the server does (required, ranges,
// decimals, lengths, options; unknown keys are errors, never dropped).
//
// API (also in /tmp notes for the campaign screen):
//   const s = renderSurvey(container, definition, answers, {onChange, photos, disabled});
//     answers: the record's own object (mutated in place; raw texts as typed, choices' values,
//       yes/no as true/false, a photo question's photo UUID).
//     onChange(key): called after every edit, to save the record.
//     photos (optional, for photo questions): {thumbs (collector.thumbnails()), list(key) → [photo],
//       has(uuid) → bool, add(key, files) → Promise(photo | null), remove(photo) → Promise};
//       without it a photo question says it cannot be taken here.
//   s.refresh()  redraws the errors and counts (e.g. after a photo arrived);
//   s.errors(complete) → {key: text}; s.answers() → the normalised answers (the manifest's shape).
//   checkSurvey(definition, answers, {complete}) → {answers: normalised, errors: {key: [msgKey, params]}}
//   surveyMissing(definition, answers) → [text]: one line per question still wrong, for a checklist.
import { t } from "./i18n.js";
import { button } from "./ui.js";

const NUMBER = /^-?\d+(?:\.(\d+))?$/;
const TEXT_LENGTH = 200;  // survey.DEFAULT_TEXT_LENGTH

function questions(definition) {
  const out = [];
  ((definition && definition.sections) || []).forEach((s) => (s.questions || []).forEach((q) => out.push(q)));
  return out;
}

function empty(value) {
  return value === undefined || value === null || (typeof value === "string" && !value.trim());
}

// A decimal text as the server writes it (survey.check_answers): no "+", no leading zeros, exactly
// the question's decimal places ("3" with one place → "3.0"; money "30000" → "30000.00"), "-0" → "0".
function canonical(text, places) {
  const m = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(text);
  const whole = m[2].replace(/^0+(?=\d)/, "");
  const frac = places > 0 ? ((m[3] || "") + "0".repeat(places)).slice(0, places) : "";
  const out = frac ? whole + "." + frac : whole;
  return m[1] === "-" && /[1-9]/.test(out) ? "-" + out : out;
}

// Compares two decimal texts exactly (no float): -1, 0, 1.
function compare(a, b) {
  const parse = (s) => {
    const m = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(String(s).trim());
    if (!m) return null;
    return { neg: m[1] === "-", whole: m[2].replace(/^0+(?=\d)/, ""), frac: (m[3] || "").replace(/0+$/, "") };
  };
  const x = parse(a), y = parse(b);
  if (!x || !y) return 0;
  const zero = (v) => /^0*$/.test(v.whole) && !v.frac;
  if (zero(x) && zero(y)) return 0;
  const xn = x.neg && !zero(x), yn = y.neg && !zero(y);
  if (xn !== yn) return xn ? -1 : 1;
  let c;
  if (x.whole.length !== y.whole.length) c = x.whole.length < y.whole.length ? -1 : 1;
  else if (x.whole !== y.whole) c = x.whole < y.whole ? -1 : 1;
  else {
    const n = Math.max(x.frac.length, y.frac.length);
    const fx = x.frac.padEnd(n, "0"), fy = y.frac.padEnd(n, "0");
    c = fx === fy ? 0 : fx < fy ? -1 : 1;
  }
  return xn ? -c : c;
}

function checkOne(q, value, complete, photoKnown) {
  if (empty(value)) {
    if (complete && q.required) return { error: ["survey_required", {}] };
    return { skip: true };
  }
  switch (q.type) {
    case "number":
    case "money": {
      // Full-width digits and marks from a Chinese keyboard read as the server reads them (NFKC).
      const text = String(value).replace(/[\uFF0C-\uFF19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xFEE0)).replace(/[,\s]/g, "");
      const m = NUMBER.exec(text);
      if (!m) return { error: [q.type === "money" ? "survey_money" : "survey_number", {}] };
      const places = q.type === "money" ? 2 : Number(q.decimals || 0);
      if ((m[1] || "").replace(/0+$/, "").length > places) {
        return { error: [places === 0 ? "survey_whole" : "survey_decimals", { places }] };
      }
      const min = q.min !== undefined && q.min !== null && q.min !== "" ? String(q.min) : (q.type === "money" ? "0" : null);
      if (min !== null && compare(text, min) < 0) return { error: ["survey_min", { min, unit: q.unit || (q.type === "money" ? t("yuan") : "") }] };
      if (q.max !== undefined && q.max !== null && q.max !== "" && compare(text, q.max) > 0) {
        return { error: ["survey_max", { max: q.max, unit: q.unit || (q.type === "money" ? t("yuan") : "") }] };
      }
      return { value: canonical(text, places) };
    }
    case "choice":
      if (!(q.options || []).some((o) => o.value === value)) return { error: ["survey_choice", {}] };
      return { value };
    case "yesno":
      if (value !== true && value !== false) return { error: ["survey_choice", {}] };
      return { value };
    case "text": {
      const text = String(value).normalize("NFC").replace(/\r\n/g, "\n").trim();
      if (/[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}]/u.test(text.replace(/\n/g, ""))) return { error: ["survey_hidden", {}] };
      const limit = q.max_length || TEXT_LENGTH;
      if ([...text].length > limit) return { error: ["survey_too_long", { limit }] };
      return { value: text };
    }
    case "photo":
      if (typeof value !== "string" || (photoKnown && !photoKnown(value))) return { error: ["survey_photo_missing", {}] };
      return { value };
    default:
      return { error: ["survey_unknown", {}] };
  }
}

// The answers checked against the definition. ``complete``: a finished form (required ones too);
// otherwise a draft (what is there must be right). ``photoKnown(uuid)``: does the record hold that photo.
export function checkSurvey(definition, answers, options) {
  const complete = !!(options && options.complete);
  const photoKnown = options && options.photoKnown;
  const out = {}, errors = {};
  const byKey = {};
  questions(definition).forEach((q) => { byKey[q.key] = q; });
  Object.keys(answers || {}).forEach((key) => {
    if (!byKey[key] && !empty(answers[key])) errors[key] = ["survey_unknown", {}];
  });
  Object.keys(byKey).forEach((key) => {
    const r = checkOne(byKey[key], (answers || {})[key], complete, photoKnown);
    if (r.error) errors[key] = r.error;
    else if (!r.skip) out[key] = r.value;
  });
  return { answers: out, errors };
}

// One checklist line per wrong or missing answer: "<label>: <what is wrong>".
export function surveyMissing(definition, answers, photoKnown) {
  const labels = {};
  questions(definition).forEach((q) => { labels[q.key] = q.label; });
  const errors = checkSurvey(definition, answers, { complete: true, photoKnown }).errors;
  return Object.keys(errors).map((key) => t("survey_line", { label: labels[key] || key, problem: t(errors[key][0], errors[key][1]) }));
}

function unitText(q) {
  if (q.type === "money") return t("yuan");
  return q.unit || "";
}

function inputFor(q, answers, name, changed) {
  const wrap = document.createElement("div");
  wrap.className = "survey-input";
  if (q.type === "choice") {
    const select = document.createElement("select");
    select.name = name;
    const none = document.createElement("option");
    none.value = "";
    none.textContent = t("survey_choose");
    select.appendChild(none);
    (q.options || []).forEach((o) => {
      const opt = document.createElement("option");
      opt.value = o.value;
      opt.textContent = o.label;
      select.appendChild(opt);
    });
    select.value = answers[q.key] || "";
    select.addEventListener("change", () => changed(select.value || null));
    wrap.appendChild(select);
  } else if (q.type === "yesno") {
    wrap.classList.add("segmented");
    [[true, t("yes")], [false, t("no")]].forEach(([v, text]) => {
      const label = document.createElement("label");
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = name;
      radio.value = v ? "yes" : "no";
      radio.checked = answers[q.key] === v;
      radio.addEventListener("change", () => { if (radio.checked) changed(v); });
      label.appendChild(radio);
      label.appendChild(document.createTextNode(" " + text));
      wrap.appendChild(label);
    });
  } else if (q.type === "text") {
    const input = document.createElement(q.max_length && q.max_length > 100 ? "textarea" : "input");
    input.name = name;
    if (input.tagName === "TEXTAREA") input.rows = 2;
    input.maxLength = q.max_length || TEXT_LENGTH;
    input.value = answers[q.key] || "";
    input.addEventListener("input", () => changed(input.value));
    wrap.appendChild(input);
  } else {
    const input = document.createElement("input");
    input.name = name;
    input.inputMode = q.type === "number" && Number(q.decimals || 0) === 0 ? "numeric" : "decimal";
    input.maxLength = 20;
    input.value = answers[q.key] === undefined || answers[q.key] === null ? "" : answers[q.key];
    input.addEventListener("input", () => changed(input.value.trim()));
    wrap.appendChild(input);
    const unit = unitText(q);
    if (unit) {
      const u = document.createElement("span");
      u.className = "unit";
      u.textContent = unit;
      wrap.appendChild(u);
    }
  }
  return wrap;
}

function photoQuestion(q, answers, photos, disabled, changed) {
  const wrap = document.createElement("div");
  wrap.className = "survey-input";
  if (!photos) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = t("survey_photo_unavailable");
    wrap.appendChild(p);
    return wrap;
  }
  const strip = document.createElement("div");
  strip.className = "thumbs";
  wrap.appendChild(strip);
  const draw = () => {
    strip.innerHTML = "";
    const mine = photos.list(q.key);
    mine.forEach((ph) => strip.appendChild(photos.thumbs.figure(ph, q.label, q.label, disabled || ph.confirmed ? null : (x) => {
      photos.remove(x).then(() => changed(null)).then(draw);
    })));
    camera.hidden = disabled || mine.length > 0;
  };
  const camera = document.createElement("label");
  camera.className = "button camera";
  camera.textContent = t("take_photo");
  const input = document.createElement("input");
  input.type = "file";
  input.accept = "image/jpeg,image/png,image/*";
  input.setAttribute("capture", "environment");
  input.hidden = true;
  input.dataset.question = q.key;
  input.addEventListener("change", () => {
    const files = Array.from(input.files).slice(0, 1);
    input.value = "";
    photos.add(q.key, files).then((ph) => { if (ph) changed(ph.uuid); }).then(draw);
  });
  camera.appendChild(input);
  wrap.appendChild(camera);
  draw();
  return wrap;
}

let instances = 0;

export function renderSurvey(container, definition, answers, options) {
  const opts = options || {};
  const prefix = "survey" + (++instances) + ".";
  const errorNodes = {}, counters = [];
  const photoKnown = opts.photos ? opts.photos.has : null;
  container.innerHTML = "";
  container.classList.add("survey");

  function errors(complete) {
    const found = checkSurvey(definition, answers, { complete, photoKnown }).errors;
    const out = {};
    Object.keys(found).forEach((k) => { out[k] = t(found[k][0], found[k][1]); });
    return out;
  }

  function refresh() {
    // While typing, only what is wrong; a required answer still empty shows in the checklist.
    const now = errors(false);
    Object.keys(errorNodes).forEach((k) => {
      errorNodes[k].textContent = now[k] || "";
      errorNodes[k].hidden = !now[k];
    });
    counters.forEach(([node, qs]) => {
      const done = qs.filter((q) => !empty(answers[q.key]) && !now[q.key]).length;
      node.textContent = done + " / " + qs.length;
    });
  }

  (definition.sections || []).forEach((section, index) => {
    const box = document.createElement("details");
    box.className = "survey-section";
    box.dataset.section = section.key;
    box.open = index === 0 || !!opts.open;
    const summary = document.createElement("summary");
    summary.textContent = section.title + " ";
    const count = document.createElement("span");
    count.className = "muted";
    summary.appendChild(count);
    box.appendChild(summary);
    counters.push([count, section.questions || []]);
    (section.questions || []).forEach((q) => {
      const field = document.createElement("div");
      field.className = "survey-q";
      field.dataset.question = q.key;
      const label = document.createElement("label");
      label.htmlFor = prefix + q.key;
      label.textContent = q.label + (q.required ? " *" : "");
      field.appendChild(label);
      const changed = (value) => {
        if (empty(value)) delete answers[q.key];
        else answers[q.key] = value;
        refresh();
        if (opts.onChange) opts.onChange(q.key);
      };
      const input = q.type === "photo"
        ? photoQuestion(q, answers, opts.photos, opts.disabled, changed)
        : inputFor(q, answers, prefix + q.key, changed);
      const control = input.querySelector("input:not([type=radio]), select, textarea");
      if (control) { control.id = prefix + q.key; control.disabled = !!opts.disabled; }
      input.querySelectorAll("input[type=radio]").forEach((r) => { r.disabled = !!opts.disabled; });
      field.appendChild(input);
      const err = document.createElement("p");
      err.className = "field-hint field-error";
      err.hidden = true;
      field.appendChild(err);
      errorNodes[q.key] = err;
      box.appendChild(field);
    });
    container.appendChild(box);
  });
  refresh();
  return {
    refresh,
    errors,
    answers() { return checkSurvey(definition, answers, { photoKnown }).answers; },
  };
}

// For screens with a "collapse all" wish: a button that opens or closes every section.
export function toggleAllButton(container) {
  return button(t("survey_toggle"), () => {
    const boxes = Array.from(container.querySelectorAll("details.survey-section"));
    const open = !boxes.every((b) => b.open);
    boxes.forEach((b) => { b.open = open; });
  }, "link");
}
