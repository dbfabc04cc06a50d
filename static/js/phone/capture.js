// The application form (new application, or a returned one to amend): borrower, loan type,
// photos per document, home GPS, loan; what is missing is listed before Finish is allowed.
// Everything is kept in IndexedDB as it is typed; Sync sends it when it can.
import { t } from "./i18n.js";
import { $, show, banner, button, renderHome, renderChecklist } from "./ui.js";
import { errorText } from "./format.js";
import { products, borrowers, settings, product, fillProducts } from "./boot.js";
import { thumbnails, collectPhotos, dropPhoto, takePosition } from "./collector.js";
import { renderStorage, askPersistence, registerBackgroundSync, recordSaver } from "./persist.js";
import { renderSurvey, surveyMissing, checkSurvey } from "./survey.js";
import { getGroup, putGroup } from "./groups.js";
import Sync from "../sync/index.js";

let current = null;   // the draft being edited
const saver = recordSaver((d) => Store.putDraft(d), () => current);
const thumbs = thumbnails();
const surveyThumbs = thumbnails();
const SURVEY_PHOTO = "survey_photo";  // the collection item a survey's photo questions file their photos under

// A group member's form goes back to its group (group.js sets this; no import cycle).
let groupReturn = null;
export function setGroupReturn(fn) { groupReturn = fn; }

export function editingDraft() { return current !== null; }

function amending(d) { return d.status === "returned"; }

function photosOf(d, item) { return d.photos.filter((ph) => ph.item_id === item.id); }

// A household pre-approved in a village campaign (d.light, set by campaign.js): within its limit
// only the light path's items are required, as the server checks (app/services/light_path.py).
function lightCodes(d) {
  const l = d.light, amount = Number(String(d.amount).replace(/,/g, ""));
  return l && l.product_id === d.product_id && amount > 0 && amount <= Number(l.limit) ? l.codes : null;
}

function missingPhotos(d, out) {
  const p = product(d.product_id);
  const codes = lightCodes(d);
  if (p) p.items.forEach((item) => {
    const count = photosOf(d, item).length;
    const required = codes && !codes.includes(item.code) ? 0 : item.required;
    if (count < required) out.push(t("missing_photos", { item: item.name, count, required }));
  });
}

// A returned application: its sent details are fixed; it needs something new for the director.
function missingAmendment(d) {
  const out = [];
  missingPhotos(d, out);
  const added = d.photos.some((ph) => !ph.confirmed);
  if (!added && !(d.resubmit_note || "").trim()) out.push(t("missing_amendment"));
  return out;
}

function surveyOf(p) {
  return p && p.survey ? { version_id: p.survey.version_id, definition: p.survey.definition, answers: {} } : null;
}

function holdsPhoto(d) { return (uuid) => d.photos.some((ph) => ph.uuid === uuid); }

function missing(d) {
  if (amending(d)) return missingAmendment(d);
  const out = [];
  const b = d.borrower;
  if (!b.name || !b.name.trim()) out.push(t("missing_name"));
  if (!IdCard.parse(b.id_number).ok) out.push(t("missing_id"));
  if (b.phone && !/^1[3-9]\d{9}$/.test(b.phone.replace(/[\s-]/g, ""))) out.push(t("missing_phone"));
  const p = product(d.product_id);
  if (!p) {
    out.push(t("missing_product"));
  } else {
    missingPhotos(d, out);
    const text = String(d.amount).replace(/,/g, "");
    const amount = Number(text);
    if (!(amount > 0) || amount < Number(p.min_amount) || amount > Number(p.max_amount) || !/^\d+(\.\d{1,2})?$/.test(text))
      out.push(t("missing_amount", { min: p.min_amount, max: p.max_amount }));
    const term = Number(d.term_months);
    if (!Number.isInteger(term) || term < p.min_term || term > p.max_term) out.push(t("missing_term", { min: p.min_term, max: p.max_term }));
  }
  if (!d.gps) out.push(t("missing_gps"));
  else if (d.gps.accuracy_m > settings().gps_max_accuracy_m && !(d.gps_note || "").trim()) out.push(t("missing_gps_note"));
  if (!(d.purpose || "").trim()) out.push(t("missing_purpose"));
  if (d.survey) surveyMissing(d.survey.definition, d.survey.answers, holdsPhoto(d)).forEach((line) => out.push(t("missing_survey", { what: line })));
  if (d.group_uuid && (d.borrower.household_key || "").length > 50) out.push(t("missing_household"));
  return out;
}

// A new draft, stored: ``opts`` {product_id, group_uuid, village} for a member of a group.
export function createDraft(opts) {
  const o = opts || {};
  const first = o.product_id ? product(o.product_id) : products()[0];
  const d = {
    uuid: crypto.randomUUID(), status: "draft", created_at: new Date().toISOString(),
    borrower: { mode: "new", uuid: crypto.randomUUID(), name: "", id_number: "", phone: "", village: o.village || "", address: "", household_key: "" },
    product_id: first ? first.id : null, photos: [], gps: null, gps_note: "", amount: "", term_months: "", purpose: "",
    survey: surveyOf(first), group_uuid: o.group_uuid || null,
  };
  return Store.putDraft(d).then(() => d);
}

export function newDraft(opts) {
  return createDraft(opts).then((d) => openDraft(d.uuid).then(() => d));
}

export function openDraft(uuid) {
  return Store.getDraft(uuid).then((d) => {
    if (!d) return;
    if (d.status === "error" && !d.server) d.status = "draft";  // refused manifest: correct and send again
    current = d;
    fillForm(d);
    show("view-draft");
    if (d.error) banner(t("server_said", { message: errorText(d.error) }), "error");
    else banner("");
  });
}

function fillForm(d) {
  const form = $("#view-draft");
  const amend = amending(d);
  // What was sent stands as sent: a returned application only takes photos and a note.
  ["#step-borrower", "#step-product", "#step-gps", "#step-loan"].forEach((sel) => { $(sel).disabled = amend; });
  // A group's members all borrow under the group's loan type.
  $("#product-select").disabled = amend || !!d.group_uuid;
  $("#draft-group").hidden = !d.group_uuid;
  if (d.group_uuid) getGroup(d.group_uuid).then((g) => { $("#draft-group").textContent = t("group_member_of", { name: (g && g.name) || "—" }); });
  $("#amend-box").hidden = !amend;
  $("#amend-note-label").hidden = !amend;
  $("#delete-draft").hidden = amend;
  $("#finish").textContent = amend ? t("resubmit") : t("finish");
  if (amend) $("#amend-reason").textContent = t("todo_reason", { who: d.todo.by, reason: d.todo.reason });
  form.elements.resubmit_note.value = d.resubmit_note || "";
  $("#draft-title").textContent = d.borrower.name || t("new_application");
  form.elements.borrower_mode.value = d.borrower.mode;
  ["name", "id_number", "phone", "village", "address"].forEach((k) => {
    form.elements[k].value = d.borrower[k] || "";
    form.elements[k].readOnly = d.borrower.mode === "existing";
  });
  form.elements.household_key.value = d.borrower.household_key || "";
  $("#existing-borrower").hidden = d.borrower.mode !== "existing";
  const select = $("#product-select");
  fillProducts(select);
  select.value = d.product_id;
  form.elements.amount.value = d.amount;
  form.elements.term_months.value = d.term_months;
  form.elements.purpose.value = d.purpose;
  form.elements.gps_note.value = d.gps_note || "";
  renderIdInfo();
  renderPhotos();
  renderSurveyBox();
  renderGps();
  renderMissing();
}

// The household survey of the draft's loan type, kept in the draft as it is typed.
function renderSurveyBox() {
  const box = $("#survey-box");
  surveyThumbs.reset();
  if (!current.survey) {
    box.innerHTML = "";
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = t("survey_none");
    box.appendChild(p);
    return;
  }
  renderSurvey(box, current.survey.definition, current.survey.answers, {
    onChange() { renderMissing(); save(); },
    photos: surveyPhotos(),
    disabled: amending(current),
  });
}

// Photo questions: the photos are the draft's, under the product's collection item "survey_photo".
function surveyPhotos() {
  const d = current;
  const p = product(d.product_id);
  const item = p && p.items.filter((i) => i.code === SURVEY_PHOTO)[0];
  if (!item) return null;
  return {
    thumbs: surveyThumbs,
    list: (key) => d.photos.filter((ph) => ph.item_id === item.id && ph.question === key),
    has: holdsPhoto(d),
    add(key, files) {
      let added = null;
      return collectPhotos(files, (photo) => {
        const next = photosOf(d, item).reduce((m, ph) => Math.max(m, ph.sequence), 0) + 1;
        added = Object.assign({ item_id: item.id, sequence: next, question: key }, photo);
        d.photos.push(added);
        return Store.putDraft(d);
      }, () => photosOf(d, item).length < item.max).then(() => added);
    },
    remove: (ph) => deletePhoto(ph, true),
  };
}

function save() { saver.soon(); }

function saveNow() { return saver.now(); }

function renderIdInfo() {
  const raw = current.borrower.id_number;
  const info = $("#id-info");
  if (!raw) { info.textContent = ""; return; }
  const r = IdCard.parse(raw);
  info.className = "field-hint" + (r.ok ? "" : " field-error");
  info.textContent = r.ok ? t("id_ok", { birth: r.birth, sex: t(r.sex === "M" ? "male" : "female"), age: r.age }) : t(r.error, { n: r.n });
}

function renderMissing() {
  renderChecklist($("#missing"), missing(current), t(amending(current) ? "amend_complete" : "all_complete"), $("#finish"));
}

function renderPhotos() {
  thumbs.reset();
  const box = $("#photo-items");
  box.innerHTML = "";
  const p = product(current.product_id);
  if (!p) return;
  p.items.filter((item) => item.code !== SURVEY_PHOTO).forEach((item) => {
    const node = document.importNode($("#tpl-photo-item").content, true);
    const root = node.querySelector(".photo-item");
    root.dataset.itemId = item.id;
    root.querySelector(".item-name").textContent = item.name;
    const mine = photosOf(current, item).sort((a, b) => a.sequence - b.sequence);
    root.querySelector(".item-count").textContent = mine.length + " / " + item.required + (item.max > item.required ? "–" + item.max : "");
    const strip = root.querySelector(".thumbs");
    mine.forEach((ph) => {
      // A photo the server has verified is no longer on the phone: it stays, and stays as it is.
      const caption = "(" + ph.sequence + ")" + (ph.confirmed ? " " + t("on_server") : "");
      strip.appendChild(thumbs.figure(ph, item.name + " (" + ph.sequence + ")", caption, ph.confirmed ? null : deletePhoto));
    });
    const input = root.querySelector("input[type=file]");
    input.dataset.itemId = item.id;
    if (mine.length >= item.max) root.querySelector(".camera").hidden = true;
    input.addEventListener("change", () => { addPhotos(item, Array.from(input.files)); input.value = ""; });
    box.appendChild(node);
  });
}

function addPhotos(item, files) {
  const d = current;
  const room = () => photosOf(d, item).length < item.max;
  return collectPhotos(files, (photo) => {
    const next = photosOf(d, item).reduce((m, ph) => Math.max(m, ph.sequence), 0) + 1;
    d.photos.push(Object.assign({ item_id: item.id, sequence: next }, photo));
    return Store.putDraft(d);
  }, room).then(() => {
    if (current !== d) return;
    renderPhotos();
    renderMissing();
  });
}

function deletePhoto(ph, fromSurvey) {
  current.photos = current.photos.filter((x) => x.uuid !== ph.uuid);
  // Numbers stay 1, 2, 3 … within the document, as the archive names them; photos already on
  // the server keep theirs, new ones follow them.
  const mine = current.photos.filter((x) => x.item_id === ph.item_id);
  const sent = mine.filter((x) => x.confirmed).reduce((m, x) => Math.max(m, x.sequence), 0);
  mine.filter((x) => !x.confirmed)
    .sort((a, b) => a.sequence - b.sequence)
    .forEach((x, i) => { x.sequence = sent + i + 1; });
  if (ph.question && current.survey && current.survey.answers[ph.question] === ph.uuid) delete current.survey.answers[ph.question];
  return dropPhoto(ph, saveNow).then(() => { if (!fromSurvey) renderPhotos(); renderMissing(); });
}

function renderGps() {
  const g = current.gps, info = $("#gps-info");
  const limit = settings().gps_max_accuracy_m;
  $("#gps-note-label").hidden = !(g && g.accuracy_m > limit);
  if (!g) { info.textContent = ""; return; }
  info.textContent = t("gps_fix", { lat: g.lat.toFixed(6), lon: g.lon.toFixed(6), acc: g.accuracy_m }) + (g.accuracy_m > limit ? " — " + t("gps_poor", { acc: g.accuracy_m, limit }) : "");
  info.className = "field-hint" + (g.accuracy_m > limit ? " field-error" : "");
}

function takeGps() {
  const d = current;
  return takePosition($("#gps-info")).then((pos) => {
    if (!pos) return;
    d.gps = pos;
    if (current !== d) return Store.putDraft(d);
    renderGps();
    renderMissing();
    return saveNow();
  });
}

function finish() {
  if (missing(current).length) return renderMissing();
  const d = current;
  if (amending(d)) d.resubmit = true;
  // What the manifest sends: the answers as the server writes them (survey.js checks them alike).
  if (d.survey && !amending(d)) d.survey_sent = checkSurvey(d.survey.definition, d.survey.answers, { photoKnown: holdsPhoto(d) }).answers;
  // A group's member waits for the group: all members are sent together when it is finished.
  const waits = d.group_uuid && !d.group;
  d.status = waits ? "waiting_group" : "queued";
  d.finished_at = new Date().toISOString();
  d.error = null;
  return saveNow().then(() => {
    current = null;
    if (waits) return groupReturn(d.group_uuid);
    askPersistence();
    registerBackgroundSync();
    return (d.group_uuid && groupReturn ? groupReturn(d.group_uuid) : goHome()).then(() => Sync.run());
  });
}

function goHome() {
  const group = current && current.group_uuid;
  return saveNow().then(() => {
    current = null;
    if (group && groupReturn) return groupReturn(group);
    show("view-home");
    renderStorage();
    return renderHome();
  });
}

function searchBorrowers(e) {
  const q = e.target.value.trim(), results = $("#borrower-results");
  results.innerHTML = "";
  if (!q) return;
  borrowers().filter((b) => b.name.indexOf(q) >= 0 || b.id_number.indexOf(q.toUpperCase()) >= 0 || (b.village || "").indexOf(q) >= 0)
    .slice(0, 20).forEach((b) => {
      const item = document.createElement("li");
      item.className = "row";
      item.appendChild(button(b.name + " · " + b.id_number.slice(0, 6) + "…" + b.id_number.slice(-4) + " · " + (b.village || ""), () => {
        current.borrower = { mode: "existing", uuid: b.uuid, name: b.name, id_number: b.id_number, phone: b.phone || "", village: b.village || "", address: b.address || "", household_key: current.borrower.household_key || "" };
        results.innerHTML = "";
        fillForm(current);
        save();
      }, "link"));
      results.appendChild(item);
    });
}

export function wireCapture() {
  const form = $("#view-draft");
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("input", (e) => {
    if (!current) return;
    const el = e.target, name = el.name;
    if (["name", "id_number", "phone", "village", "address"].indexOf(name) >= 0) {
      current.borrower[name] = name === "id_number" ? IdCard.normalise(el.value) : el.value;
      if (name === "id_number") renderIdInfo();
      if (name === "name") $("#draft-title").textContent = el.value || t("new_application");
    } else if (name === "household_key") {
      current.borrower.household_key = el.value.trim();
    } else if (["amount", "term_months", "purpose", "gps_note", "resubmit_note"].indexOf(name) >= 0) {
      current[name] = el.value.trim();
    }
    renderMissing();
    save();
  });
  form.addEventListener("change", (e) => {
    if (!current) return;
    const el = e.target;
    if (el.name === "borrower_mode") {
      current.borrower = { mode: el.value, uuid: crypto.randomUUID(), name: "", id_number: "", phone: "", village: "", address: "", household_key: current.borrower.household_key || "" };
      fillForm(current);
      save();
    } else if (el.name === "product_id") {
      const next = Number(el.value);
      // Photos of documents the new loan type does not ask for are dropped with it: asked first.
      const keep = product(next).items.map((i) => i.id);
      const dropped = current.photos.filter((p) => keep.indexOf(p.item_id) < 0);
      if (dropped.length && !confirm(t("confirm_drop_photos", { count: dropped.length }))) {
        el.value = current.product_id;
        return;
      }
      current.photos = current.photos.filter((p) => keep.indexOf(p.item_id) >= 0);
      current.product_id = next;
      // The new loan type's survey; answers to the questions it shares are kept (photos only if still held).
      const before = current.survey ? current.survey.answers : {};
      current.survey = surveyOf(product(next));
      if (current.survey) {
        const keys = {};
        current.survey.definition.sections.forEach((sec) => sec.questions.forEach((q) => { keys[q.key] = q.type; }));
        Object.keys(before).forEach((k) => {
          if (keys[k] && (keys[k] !== "photo" || current.photos.some((ph) => ph.uuid === before[k]))) current.survey.answers[k] = before[k];
        });
      }
      renderSurveyBox();
      // Save the draft without them first, then free their blobs: never a draft naming a missing photo.
      saveNow().then(() => Promise.all(dropped.map((p) => Store.deleteBlob(p.uuid))));
      renderPhotos();
      renderMissing();
    }
  });
  $("#borrower-search").addEventListener("input", searchBorrowers);
  $("#take-gps").addEventListener("click", takeGps);
  $("#finish").addEventListener("click", finish);
  $("#back-home").addEventListener("click", goHome);
  $("#delete-draft").addEventListener("click", () => {
    if (!confirm(t("confirm_delete_draft"))) return;
    const d = current;
    saver.cancel();
    // A group's member leaves the group with it.
    const leave = d.group_uuid ? getGroup(d.group_uuid).then((g) => {
      if (!g) return;
      g.members = g.members.filter((u) => u !== d.uuid);
      if (g.additions) g.additions = g.additions.filter((u) => u !== d.uuid);
      g.relatives = (g.relatives || []).filter((p) => p.indexOf(d.uuid) < 0);
      return putGroup(g);
    }) : Promise.resolve();
    Store.deleteDraft(d).then(() => leave).then(() => {
      current = null;
      if (d.group_uuid && groupReturn) return groupReturn(d.group_uuid);
      return goHome();
    });
  });
}
