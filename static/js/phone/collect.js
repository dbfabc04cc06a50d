// A repayment taken in the village (field collection): the loan, the amount, the borrower's
// signature on paper photographed as his confirmation, and GPS. It works offline from start to
// end: the record (Store collections) waits in the phone's queue until the server confirms it
// (sync/collections.js), and the home view shows each one as waiting, refused or sent, with the
// borrower's SMS receipt. Everything shown is set as text (textContent), never as HTML.
import { t } from "./i18n.js";
import { $, show, banner, button, emptyRow, renderHome, renderChecklist } from "./ui.js";
import { yuan, money, errorText } from "./format.js";
import { boot } from "./boot.js";
import { thumbnails, collectPhotos, dropPhoto, takePosition } from "./collector.js";
import { askPersistence, registerBackgroundSync, recordSaver } from "./persist.js";
import Sync from "../sync/index.js";

let current = null;  // the collection being edited
const saver = recordSaver((c) => Store.putCollection(c), () => current);
const thumbs = thumbnails();

export function editingCollection() { return current !== null; }

function loans() { return (boot.data && boot.data.loans) || []; }

function loanOf(id) { return loans().filter((l) => l.id === Number(id))[0] || null; }

function loanText(l) {
  return [l.borrower, l.village, l.contract_no].filter(Boolean).join(" · ") + " · " + t("collect_owed", { amount: yuan(l.owed) });
}

export function newCollection() {
  current = { uuid: crypto.randomUUID(), status: "draft", created_at: new Date().toISOString(), loan_id: null, loan: null,
              amount: "", photos: [], gps: null };
  return openForm();
}

function openCollection(uuid) {
  return Store.getCollection(uuid).then((c) => {
    if (!c || (c.status !== "draft" && c.status !== "error")) return;
    c.status = "draft";  // a refused collection: correct it, then finish again
    current = c;
    return openForm();
  });
}

function openForm() {
  const c = current, select = $("#collect-loan");
  select.innerHTML = "";
  const none = document.createElement("option");
  none.value = "";
  none.textContent = loans().length ? t("collect_choose_loan") : t("collect_no_loans");
  select.appendChild(none);
  loans().forEach((l) => {
    const o = document.createElement("option");
    o.value = l.id;
    o.textContent = loanText(l);
    select.appendChild(o);
  });
  select.value = c.loan_id ? String(c.loan_id) : "";
  $("#collect-amount").value = c.amount || "";
  if (c.error) banner(t("server_said", { message: errorText(c.error) }), "error");
  else banner("");
  show("view-collect");
  renderLoan();
  renderPhoto();
  renderGps();
  renderMissing();
}

function renderLoan() {
  const l = current.loan_id ? loanOf(current.loan_id) || current.loan : null;
  const info = $("#collect-loan-info");
  info.textContent = l ? [t("collect_owed", { amount: yuan(l.owed) }),
    l.next_due_amount ? t("amount_due", { amount: yuan(l.next_due_amount) }) + (l.next_due_date ? " (" + l.next_due_date + ")" : "") : "",
    l.days_past_due > 0 ? t("dpd", { days: l.days_past_due }) : ""].filter(Boolean).join(" · ") : "";
}

function renderPhoto() {
  thumbs.reset();
  const box = $("#collect-thumbs");
  box.innerHTML = "";
  current.photos.forEach((ph) => box.appendChild(thumbs.figure(ph, t("collect_signature"), t("collect_signature"), deletePhoto)));
  $("#collect-camera").hidden = current.photos.length >= 1;
}

function renderGps() {
  const g = current.gps, info = $("#collect-gps-info");
  info.textContent = g ? t("gps_fix", { lat: g.lat.toFixed(6), lon: g.lon.toFixed(6), acc: g.accuracy_m }) : "";
}

function missing(c) {
  const out = [];
  if (!c.loan_id) out.push(t("collect_missing_loan"));
  const amount = money(c.amount);
  if (amount === null || Number(amount) <= 0) out.push(t("collect_missing_amount"));
  if (!c.photos.length) out.push(t("collect_missing_signature"));
  if (!c.gps) out.push(t("collect_missing_gps"));
  return out;
}

// What the phone knows of the debt, as of its last bootstrap: a warning beside the amount, not a
// block (penalty interest may have grown since); the server decides, to the fen, and refuses more.
function renderAmountHint() {
  const c = current, l = c.loan_id ? loanOf(c.loan_id) : null, amount = money(c.amount), hint = $("#collect-amount-hint");
  const over = l && amount !== null && Number(amount) > Number(l.owed) + 1;
  hint.textContent = over ? t("collect_more_than_owed", { amount: yuan(l.owed) }) : "";
  hint.className = over ? "field-hint field-error" : "field-hint";
}

function renderMissing() {
  renderAmountHint();
  renderChecklist($("#collect-missing"), missing(current), t("collect_complete"), $("#collect-finish"));
}

function addPhoto(files) {
  const c = current;
  return collectPhotos(files.slice(0, 1), (photo) => {
    c.photos.push(photo);
    return Store.putCollection(c);
  }, () => c.photos.length < 1).then(() => {
    if (current !== c) return;
    renderPhoto();
    renderMissing();
  });
}

function deletePhoto(ph) {
  current.photos = current.photos.filter((x) => x.uuid !== ph.uuid);
  return dropPhoto(ph, () => saver.now()).then(() => { renderPhoto(); renderMissing(); });
}

function takeGps() {
  const c = current;
  return takePosition($("#collect-gps-info")).then((pos) => {
    if (!pos) return;
    c.gps = pos;
    if (current !== c) return Store.putCollection(c);
    renderGps();
    renderMissing();
    return saver.now();
  });
}

function backHome() {
  show("view-home");
  return renderHome();
}

function finish() {
  const c = current;
  if (missing(c).length) return renderMissing();
  c.amount = money(c.amount);
  const l = loanOf(c.loan_id);
  if (l) c.loan = l;  // kept with the record: the home list shows it whatever the next bootstrap says
  c.status = "queued";
  // The moment the money was taken: a collection corrected after a refusal keeps it.
  c.taken_at = c.taken_at || new Date().toISOString();
  c.error = null;
  c.attempts = 0;
  c.next_attempt_at = null;
  return saver.now().then(() => {
    current = null;
    askPersistence();
    registerBackgroundSync();
    banner(navigator.onLine ? t("collect_sending") : t("collect_queued_offline"), "info");
    return backHome();
  }).then(() => Sync.run());
}

function back() {
  const c = current;
  saver.cancel();
  current = null;
  const pristine = !c.loan_id && !c.amount && !c.photos.length && !c.gps && !c.error;
  const done = pristine ? Store.getCollection(c.uuid).then((stored) => { if (stored) return Store.deleteCollection(c); }) : Store.putCollection(c);
  return done.then(() => { banner(""); return backHome(); });
}

function discard() {
  if (!confirm(t("collect_confirm_discard"))) return;
  const c = current;
  saver.cancel();
  current = null;
  return Store.deleteCollection(c).then(() => { banner(""); return backHome(); });
}

function statusText(c) {
  if (c.status === "sent") {
    const r = c.result || {};
    const receipt = r.receipt === "sent" ? t("collect_receipt_sent") : r.receipt === "queued" ? t("collect_receipt_queued")
      : r.receipt === "failed" ? t("collect_receipt_failed") : t("collect_receipt_none");
    return (r.status === "deposited" ? t("collect_deposited") : t("collect_sent")) + " · " + receipt;
  }
  if (c.status === "queued") return c.next_attempt_at ? t("collect_retrying") : t("collect_waiting");
  if (c.status === "error") return t("server_said", { message: errorText(c.error) });
  return t("collect_draft");
}

// The home view's list: today's collections and any not yet settled; resolves to how many wait.
export function renderCollections() {
  return Store.allCollections().then((all) => {
    const today = Sync.localDay();
    const list = $("#list-collections");
    list.innerHTML = "";
    const shown = all.filter((c) => c.status !== "sent" || Sync.localDay(new Date(c.sent_at)) === today)
      .sort((a, b) => String(b.taken_at || b.created_at).localeCompare(String(a.taken_at || a.created_at)));
    shown.forEach((c) => {
      const item = document.createElement("li");
      item.className = "row collection";
      item.dataset.uuid = c.uuid;
      item.dataset.state = c.status === "sent" ? (c.result && c.result.receipt === "sent" ? "receipt_sent" : "sent") : c.status;
      const main = document.createElement("span");
      main.className = "row-main";
      const l = c.loan || loanOf(c.loan_id);
      main.textContent = (l ? l.borrower : "—") + (c.amount ? " · " + yuan(c.amount) : "");
      item.appendChild(main);
      const sub = document.createElement("span");
      sub.className = "row-sub collection-status";
      sub.textContent = statusText(c);
      item.appendChild(sub);
      if (c.status === "error") item.classList.add("row-error");
      if (c.status === "draft" || c.status === "error") {
        item.appendChild(button(c.status === "error" ? t("collect_correct") : t("edit"), () => openCollection(c.uuid), c.status === "error" ? "primary" : ""));
      }
      list.appendChild(item);
    });
    if (!shown.length) list.appendChild(emptyRow(t("collect_none")));
    return all.filter((c) => c.status === "queued" || c.status === "error").length;
  });
}

export function wireCollect() {
  const form = $("#view-collect");
  form.addEventListener("submit", (e) => e.preventDefault());
  $("#collect-loan").addEventListener("change", (e) => {
    if (!current) return;
    current.loan_id = e.target.value ? Number(e.target.value) : null;
    current.loan = current.loan_id ? loanOf(current.loan_id) : null;
    renderLoan();
    renderMissing();
    saver.now();
  });
  $("#collect-amount").addEventListener("input", (e) => {
    if (!current) return;
    current.amount = e.target.value.trim();
    renderMissing();
    saver.soon();
  });
  $("#collect-photo-input").addEventListener("change", (e) => {
    const input = e.target;
    addPhoto(Array.from(input.files));
    input.value = "";
  });
  $("#collect-gps").addEventListener("click", takeGps);
  $("#collect-finish").addEventListener("click", finish);
  $("#collect-back").addEventListener("click", back);
  $("#collect-discard").addEventListener("click", discard);
  $("#new-collection").addEventListener("click", () => { if (boot.data) newCollection(); });
}
