// HQ data entry: a photo viewer (zoom, quarter turns, drag a box) and OCR proposals that fill a
// field only when the clerk accepts them, and never over what the clerk typed.
"use strict";
(function () {
  var ZOOMS = [0.25, 0.35, 0.5, 0.7, 1, 1.4, 2];

  function setupViewer(root) {
    if (root.dataset.ready) return;
    root.dataset.ready = "1";
    var canvas = root.querySelector("[data-viewer-canvas]");
    var form = root.querySelector("[data-region-form]");
    var label = root.querySelector("[data-viewer-label]");
    var ctx = canvas.getContext("2d");
    var img = new Image();
    var state = { rotation: 0, zoom: 2, box: null, drag: null };

    function turned() { return state.rotation % 180 !== 0; }

    // A photo opens whole: the largest zoom step at which it fits the stage's width and height (a
    // 1600 px photo at a fixed half size overflowed the stage beside the form at 1366 px).
    function fitZoom() {
      var stage = canvas.parentNode;
      var maxHeight = parseFloat(getComputedStyle(stage).maxHeight) || Infinity;
      var fit = Math.min(stage.clientWidth / img.naturalWidth, maxHeight / img.naturalHeight);
      var best = 0;
      ZOOMS.forEach(function (z, i) { if (z <= fit) best = i; });
      return best;
    }

    function draw() {
      if (!img.naturalWidth) return;
      var z = ZOOMS[state.zoom];
      var w = img.naturalWidth * z, h = img.naturalHeight * z;
      canvas.width = Math.round(turned() ? h : w);
      canvas.height = Math.round(turned() ? w : h);
      ctx.save();
      ctx.translate(canvas.width / 2, canvas.height / 2);
      ctx.rotate(state.rotation * Math.PI / 180);
      ctx.drawImage(img, -w / 2, -h / 2, w, h);
      ctx.restore();
      var b = state.box;
      if (b) {
        ctx.strokeStyle = "#b22222";
        ctx.lineWidth = 2;
        ctx.setLineDash([6, 4]);
        ctx.strokeRect(b[0] * canvas.width, b[1] * canvas.height, (b[2] - b[0]) * canvas.width, (b[3] - b[1]) * canvas.height);
      }
      // The box travels as fractions of the photo as turned on screen, whatever the zoom.
      var box = b || [0, 0, 1, 1];
      form.elements.rotation.value = state.rotation;
      ["x0", "y0", "x1", "y1"].forEach(function (k, i) { form.elements[k].value = box[i].toFixed(5); });
    }

    function select(button) {
      root.querySelectorAll(".viewer-thumbs .thumb").forEach(function (b) { b.classList.toggle("selected", b === button); });
      form.elements.photo_id.value = button.dataset.photoId;
      label.textContent = button.dataset.label;
      state.rotation = 0;
      state.box = null;
      img.onload = function () { state.zoom = fitZoom(); draw(); };
      img.src = button.dataset.viewSrc;
    }

    function point(evt) {
      var r = canvas.getBoundingClientRect();
      return [Math.min(1, Math.max(0, (evt.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (evt.clientY - r.top) / r.height))];
    }

    canvas.addEventListener("pointerdown", function (evt) {
      state.drag = point(evt);
      canvas.setPointerCapture(evt.pointerId);
    });
    canvas.addEventListener("pointermove", function (evt) {
      if (!state.drag) return;
      var p = point(evt), s = state.drag;
      state.box = [Math.min(s[0], p[0]), Math.min(s[1], p[1]), Math.max(s[0], p[0]), Math.max(s[1], p[1])];
      draw();
    });
    canvas.addEventListener("pointerup", function () {
      state.drag = null;
      var b = state.box;
      if (b && (b[2] - b[0] < 0.01 || b[3] - b[1] < 0.01)) { state.box = null; draw(); }  // a click, not a box
    });

    root.querySelector(".viewer-tools").addEventListener("click", function (evt) {
      var act = evt.target.closest("[data-act]");
      if (!act) return;
      var a = act.dataset.act;
      if (a === "zoom-in") state.zoom = Math.min(ZOOMS.length - 1, state.zoom + 1);
      if (a === "zoom-out") state.zoom = Math.max(0, state.zoom - 1);
      if (a === "rotate-right" || a === "rotate-left") { state.rotation = (state.rotation + (a === "rotate-right" ? 90 : 270)) % 360; state.box = null; }
      if (a === "clear") state.box = null;
      draw();
    });
    root.querySelector(".viewer-thumbs").addEventListener("click", function (evt) {
      var b = evt.target.closest(".thumb");
      if (b) select(b);
    });
    var first = root.querySelector(".viewer-thumbs .thumb");
    if (first) select(first);
  }

  // Accept an OCR proposal: fill the field if it is empty (or already says the same), else say why not.
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-ocr-field]");
    if (!button) return;
    var form = document.getElementById("entry-form");
    var input = form && form.elements[button.dataset.ocrField];
    if (!input) return;
    var value = button.dataset.ocrValue;
    var slot = button.parentNode;
    if (input.value.trim() && input.value.trim() !== value) {
      var note = slot.querySelector(".proposal-note") || document.createElement("span");
      note.className = "proposal-note field-error";
      note.textContent = " " + form.dataset.msgTyped;
      slot.appendChild(note);
      return;
    }
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    slot.textContent = "";
    input.focus();
  });

  function init(root) { (root || document).querySelectorAll("[data-viewer]").forEach(setupViewer); }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (evt) { init(evt.detail.elt); });
})();
