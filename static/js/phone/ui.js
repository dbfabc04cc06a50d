// Small DOM helpers shared by the phone's screens: which view shows, the banner, rows and buttons.
export const $ = (sel, root) => (root || document).querySelector(sel);
export const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

const VIEWS = ["view-unsupported", "view-unenrolled", "view-home", "view-draft", "view-calc", "view-visit", "view-collect", "view-group", "view-campaign"];

export function show(id) {
  // A view a module builds on first use (campaign.js) may not be in the page yet.
  VIEWS.forEach((v) => { const view = $("#" + v); if (view) view.hidden = v !== id; });
  window.scrollTo(0, 0);
}

export function banner(text, kind) {
  const b = $("#banner");
  b.innerHTML = "";
  if (!text) return;
  const p = document.createElement("p");
  p.className = "flash flash-" + (kind || "info");
  p.setAttribute("role", kind === "error" || kind === "warning" ? "alert" : "status");
  p.textContent = text;
  b.appendChild(p);
}

export function button(text, onClick, cls) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (cls) b.className = cls;
  b.addEventListener("click", onClick);
  return b;
}

// A muted "nothing here" line in a list.
export function emptyRow(text) {
  const item = document.createElement("li");
  item.className = "muted";
  item.textContent = text;
  return item;
}

// A form's checklist: each thing still missing, or one "complete" line; finishing waits for it.
export function renderChecklist(list, missing, completeText, finish) {
  list.innerHTML = "";
  missing.forEach((text) => {
    const item = document.createElement("li");
    item.textContent = text;
    list.appendChild(item);
  });
  if (!missing.length) {
    const ok = document.createElement("li");
    ok.className = "ok";
    ok.textContent = completeText;
    list.appendChild(ok);
  }
  finish.disabled = missing.length > 0;
}

// The home view is drawn by home.js; forms go back to it through here (no import cycle).
let homeRenderer = () => Promise.resolve();
export function setHomeRenderer(fn) { homeRenderer = fn; }
export function renderHome() { return homeRenderer(); }
