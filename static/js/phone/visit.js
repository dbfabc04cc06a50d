// The visit report of one task of the work plan: outcome, photos and GPS of the visit. A report is
// its own record (Store reports) until the server confirms it; it works offline from start to end.
import { t } from "./i18n.js";
import { $, $$, show, banner, renderHome, renderChecklist } from "./ui.js";
import { yuan, money, formatDistance, errorText } from "./format.js";
import { settings } from "./boot.js";
import { homeDistance } from "./geo.js";
import { latestReports, taskNeeds } from "./tasks.js";
import { thumbnails, collectPhotos, dropPhoto, takePosition } from "./collector.js";
import { askPersistence, registerBackgroundSync, recordSaver } from "./persist.js";
import Sync from "../sync/index.js";

const MAX_VISIT_PHOTOS = 3;
let currentReport = null;   // the visit report being edited
const saver = recordSaver((r) => Store.putReport(r), () => currentReport);
let visitRadius = null;     // the plan's visit_radius_m: nearer than this counts as on site
const thumbs = thumbnails();

export function editingReport() { return currentReport !== null; }

function newReport(task) {
  return {
    uuid: crypto.randomUUID(), task_uuid: task.uuid, task, status: "draft", created_at: new Date().toISOString(),
    outcome: { met_borrower: false, paid_amount: "", promise_date: "", promise_amount: "", loan_use_verified: taskNeeds(task, "loan_use") ? false : null, notes: "" },
    gps: null, photos: [],
  };
}

function pristine(r) {
  const o = r.outcome;
  return r.status === "draft" && !r.error && !r.gps && !r.photos.length && !o.met_borrower && !o.paid_amount &&
    !o.promise_date && !o.promise_amount && !o.loan_use_verified && !o.notes;
}

export function openVisit(taskUuid) {
  return Promise.all([Store.getMeta("plan"), Store.allReports()]).then(([plan, reports]) => {
    let report = latestReports(reports)[taskUuid];
    const task = ((plan && plan.tasks) || []).filter((x) => x.uuid === taskUuid)[0] || (report && report.task);
    if (!task) return;
    if (report && (report.status === "draft" || report.status === "error")) {
      report.status = "draft";   // a refused report: correct it, then finish again
      report.task = task;
    } else if (!report) {
      report = newReport(task);
    } else {
      return;  // waiting to send, sent or closed: nothing to edit
    }
    currentReport = report;
    visitRadius = plan && plan.settings ? plan.settings.visit_radius_m || null : null;
    fillVisit(report);
    show("view-visit");
    if (report.error) banner(t("server_said", { message: errorText(report.error) }), "error");
    else banner("");
  });
}

function fillVisit(r) {
  const form = $("#view-visit"), task = r.task, loan = task.loan || {}, b = task.borrower;
  $("#visit-title").textContent = (task.kind_label || task.kind) + " · " + b.name;
  $("#visit-borrower").textContent = [b.name, b.village, b.address].filter(Boolean).join(" · ");
  const phone = $("#visit-phone");
  phone.textContent = b.phone || "—";
  phone.href = b.phone ? "tel:" + b.phone : "#";
  $("#visit-due").textContent = task.due_date;
  $("#visit-loan").textContent = [loan.outstanding ? t("outstanding", { amount: yuan(loan.outstanding) }) : "",
    loan.next_due_amount ? t("amount_due", { amount: yuan(loan.next_due_amount) }) + (loan.next_due_date ? " (" + loan.next_due_date + ")" : "") : "",
    loan.days_past_due > 0 ? t("dpd", { days: loan.days_past_due }) : ""].filter(Boolean).join(" · ") || "—";
  const o = r.outcome;
  form.elements.met_borrower.checked = !!o.met_borrower;
  form.elements.paid_amount.value = o.paid_amount || "";
  form.elements.promise_date.value = o.promise_date || "";
  form.elements.promise_amount.value = o.promise_amount || "";
  form.elements.loan_use_verified.checked = !!o.loan_use_verified;
  form.elements.notes.value = o.notes || "";
  $("#visit-promise").hidden = !taskNeeds(task, "promise");
  $("#visit-loan-use").hidden = !taskNeeds(task, "loan_use");
  // What the server said about each field, beside the field.
  $$("#view-visit [aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  $$("#view-visit .field-error.server").forEach((el) => el.remove());
  const fields = (r.error && r.error.fields) || {};
  Object.keys(fields).forEach((key) => {
    const el = form.elements[key.split(".").pop()];
    if (!el || !el.closest || !el.closest("label")) return;
    el.setAttribute("aria-invalid", "true");
    const hint = document.createElement("p");
    hint.className = "field-error server";
    hint.textContent = fields[key];
    el.closest("label").after(hint);
  });
  renderPhotos();
  renderGps();
  renderMissing();
}

function save() { saver.soon(); }

function saveNow() { return saver.now(); }

function missing(r) {
  const out = [], o = r.outcome, task = r.task;
  if (o.paid_amount && money(o.paid_amount) === null) out.push(t("missing_paid"));
  if (taskNeeds(task, "promise")) {
    if (!!o.promise_date !== !!o.promise_amount) out.push(t("missing_promise"));
    if (o.promise_date && o.promise_date < Sync.localDay()) out.push(t("missing_promise_past"));
    if (o.promise_amount && !(money(o.promise_amount) !== null && Number(money(o.promise_amount)) > 0)) out.push(t("missing_promise_amount"));
  }
  if ((o.notes || "").length > 500) out.push(t("missing_notes"));
  if ((task.evidence || []).indexOf("photo") >= 0 && !r.photos.length) out.push(t("missing_visit_photo"));
  if (!r.gps) out.push(t("missing_visit_gps"));
  return out;
}

function renderMissing() {
  renderChecklist($("#visit-missing"), missing(currentReport), t("visit_complete"), $("#visit-finish"));
}

function renderPhotos() {
  thumbs.reset();
  const box = $("#visit-thumbs");
  box.innerHTML = "";
  currentReport.photos.forEach((ph, i) => {
    box.appendChild(thumbs.figure(ph, "(" + (i + 1) + ")", "(" + (i + 1) + ")", deletePhoto));
  });
  $("#visit-camera").hidden = currentReport.photos.length >= MAX_VISIT_PHOTOS;
  $("#visit-photo-count").textContent = currentReport.photos.length + " / " + MAX_VISIT_PHOTOS;
}

function addPhotos(files) {
  const r = currentReport;
  return collectPhotos(files, (photo) => {
    r.photos.push(photo);
    return Store.putReport(r);
  }, () => r.photos.length < MAX_VISIT_PHOTOS).then(() => {
    if (currentReport !== r) return;
    renderPhotos();
    renderMissing();
  });
}

function deletePhoto(ph) {
  currentReport.photos = currentReport.photos.filter((x) => x.uuid !== ph.uuid);
  return dropPhoto(ph, saveNow).then(() => { renderPhotos(); renderMissing(); });
}

function renderGps() {
  const g = currentReport.gps, info = $("#visit-gps-info");
  const limit = settings().gps_max_accuracy_m || 50;
  info.className = "field-hint";
  delete info.dataset.distance;
  if (!g) { info.textContent = ""; return; }
  const parts = [t("gps_fix", { lat: g.lat.toFixed(6), lon: g.lon.toFixed(6), acc: g.accuracy_m })];
  if (g.accuracy_m > limit) { parts.push(t("gps_poor_visit", { acc: g.accuracy_m, limit })); info.className += " field-error"; }
  if (g.is_mock) { parts.push(t("gps_mock")); info.className += " field-error"; }
  const meters = homeDistance(currentReport.task, g);
  if (meters === null) {
    parts.push(t("visit_home_unknown"));
  } else {
    info.dataset.distance = Math.round(meters);
    parts.push(t("visit_gps_distance", { distance: formatDistance(meters) }));
    if (visitRadius) parts.push(meters <= visitRadius ? t("visit_gps_near", { radius: visitRadius }) : t("visit_gps_far", { radius: visitRadius }));
  }
  info.textContent = parts.join(" · ");
}

function takeGps() {
  const r = currentReport;
  return takePosition($("#visit-gps-info")).then((pos) => {
    if (!pos) return;
    r.gps = pos;
    if (currentReport !== r) return Store.putReport(r);
    renderGps();
    renderMissing();
    return saveNow();
  });
}

function backHome() {
  show("view-home");
  banner("");
  return renderHome();
}

function finish() {
  const r = currentReport;
  if (missing(r).length) return renderMissing();
  const o = r.outcome;
  o.paid_amount = money(o.paid_amount) || "0.00";
  const promise = taskNeeds(r.task, "promise") && o.promise_date;
  o.promise_date = promise ? o.promise_date : "";
  o.promise_amount = promise ? money(o.promise_amount) : "";
  if (!taskNeeds(r.task, "loan_use")) o.loan_use_verified = null;
  r.status = "queued";
  // The time of the visit: a report corrected after a refusal keeps it.
  r.finished_at = r.finished_at || new Date().toISOString();
  r.error = null;
  r.needs_fix = false;
  r.attempts = 0;
  r.next_attempt_at = null;
  return saveNow().then(() => {
    currentReport = null;
    askPersistence();
    registerBackgroundSync();
    return backHome();
  }).then(() => Sync.run());
}

function back() {
  const r = currentReport;
  saver.cancel();
  currentReport = null;
  const done = pristine(r) ? Store.getReport(r.uuid).then((stored) => { if (stored) return Store.deleteReport(r); }) : Store.putReport(r);
  return done.then(backHome);
}

export function wireVisit() {
  const form = $("#view-visit");
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("input", (e) => {
    if (!currentReport) return;
    const el = e.target, o = currentReport.outcome;
    if (el.type === "checkbox" && (el.name === "met_borrower" || el.name === "loan_use_verified")) o[el.name] = el.checked;
    else if (["paid_amount", "promise_date", "promise_amount"].indexOf(el.name) >= 0) o[el.name] = el.value.trim();
    else if (el.name === "notes") o.notes = el.value;
    else return;
    renderMissing();
    save();
  });
  $("#visit-photo-input").addEventListener("change", (e) => {
    const input = e.target;
    addPhotos(Array.from(input.files));
    input.value = "";
  });
  $("#visit-gps").addEventListener("click", takeGps);
  $("#visit-finish").addEventListener("click", finish);
  $("#visit-back").addEventListener("click", back);
  $("#visit-discard").addEventListener("click", () => {
    if (!confirm(t("confirm_discard_report"))) return;
    const r = currentReport;
    currentReport = null;
    saver.cancel();
    Store.deleteReport(r).then(backHome);
  });
}
