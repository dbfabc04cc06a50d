// Whole-village pre-credit (整村授信) on the phone: the open campaigns of the officer's office (kept
// in meta "campaigns", renewed by each sync run) and, per household, a survey record (Store
// "surveys"): the household number (户号), the head (name, ID number checked here with idcard.js,
// phone), the village committee's rating (村委评议), the home's GPS and the product's survey, drawn
// by survey.js. It works offline from start to end: a finished record waits in the queue
// (sync/surveys.js) until the server confirms it, then shows the score and the proposed limit.
// Everything shown is set as text (textContent), never as HTML.
import { t } from "./i18n.js";
import { $, show, banner, button, emptyRow, renderHome, renderChecklist } from "./ui.js";
import { yuan, errorText } from "./format.js";
import { takePosition } from "./collector.js";
import { askPersistence, registerBackgroundSync, recordSaver } from "./persist.js";
import { renderSurvey, checkSurvey } from "./survey.js";
import { createDraft, openDraft } from "./capture.js";
import Sync from "../sync/index.js";

const RATING_KEY = "committee_rating";  // asked once, as the rating below, not inside the survey
let current = null;   // the survey record on screen
let campaign = null;  // its campaign (from meta "campaigns")
let form = null;      // survey.js's handle
const saver = recordSaver((s) => Store.putSurvey(s), () => current);

export function editingSurvey() { return current !== null; }

function campaigns() { return Store.getMeta("campaigns").then((list) => list || []); }

// The product's survey without the committee's rating (asked once, on its own).
function withoutRating(definition) {
  return { sections: (definition.sections || []).map((s) => ({ ...s, questions: (s.questions || []).filter((q) => q.key !== RATING_KEY && q.type !== "photo") }))
    .filter((s) => s.questions.length) };
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  Object.keys(attrs || {}).forEach((k) => { if (k === "className") e.className = attrs[k]; else e.setAttribute(k, attrs[k]); });
  if (text !== undefined) e.textContent = text;
  return e;
}

function field(labelText, input, hintId) {
  const wrap = el("label", {}, labelText);
  wrap.appendChild(input);
  if (hintId) wrap.appendChild(el("p", { id: hintId, className: "field-hint" }));
  return wrap;
}

// The form, built once and kept in the shell beside the other views (ui.js shows one at a time).
function ensureView() {
  if ($("#view-campaign")) return;
  const f = el("form", { id: "view-campaign", novalidate: "", autocomplete: "off" });
  f.hidden = true;
  f.appendChild(el("h2", { id: "campaign-title" }));
  f.appendChild(field(t("campaign_household_no"), el("input", { id: "campaign-household", maxlength: "30" })));
  f.appendChild(field(t("campaign_head_name"), el("input", { id: "campaign-name", maxlength: "50" })));
  f.appendChild(field(t("campaign_head_id"), el("input", { id: "campaign-id", maxlength: "18", inputmode: "text" }), "campaign-id-hint"));
  f.appendChild(field(t("campaign_head_phone"), el("input", { id: "campaign-phone", maxlength: "20", inputmode: "tel" })));
  const rating = el("select", { id: "campaign-rating" });
  f.appendChild(field(t("campaign_rating"), rating));
  const gps = el("p");
  gps.appendChild(button(t("campaign_gps"), () => takeGps(), "secondary"));
  gps.lastChild.id = "campaign-gps";
  gps.appendChild(el("span", { id: "campaign-gps-info", className: "field-hint" }));
  f.appendChild(gps);
  f.appendChild(el("div", { id: "campaign-survey" }));
  f.appendChild(el("ul", { id: "campaign-missing", className: "checklist" }));
  const actions = el("p", { className: "actions" });
  const finish = button(t("finish"), () => finishSurvey(), "primary");
  finish.id = "campaign-finish";
  actions.appendChild(finish);
  const back = button(t("campaign_back"), () => leave());
  back.id = "campaign-back";
  actions.appendChild(back);
  const discard = button(t("campaign_discard"), () => discardSurvey(), "danger");
  discard.id = "campaign-discard";
  actions.appendChild(discard);
  f.appendChild(actions);
  $("#view-home").parentNode.appendChild(f);
  f.addEventListener("input", (e) => readInputs(e.target));
  f.addEventListener("change", (e) => readInputs(e.target));
  f.addEventListener("submit", (e) => e.preventDefault());
}

function readInputs(target) {
  if (!current || !target || !target.id || !target.id.startsWith("campaign-")) return;
  const s = current;
  s.household_no = $("#campaign-household").value;
  s.head.name = $("#campaign-name").value;
  s.head.id_number = $("#campaign-id").value;
  s.head.phone = $("#campaign-phone").value;
  s.rating = $("#campaign-rating").value;
  s.updated_at = new Date().toISOString();
  renderMissing();
  saver.soon();
}

export function newSurvey(c) {
  current = { uuid: crypto.randomUUID(), campaign_uuid: c.uuid, campaign_name: c.name, village: c.village, status: "draft",
              created_at: new Date().toISOString(), updated_at: new Date().toISOString(), household_no: "",
              head: { name: "", id_number: "", phone: "" }, rating: "", answers: {}, gps: null };
  return Store.putSurvey(current).then(() => openForm(c));
}

function openSurvey(uuid) {
  return Promise.all([Store.getSurvey(uuid), campaigns()]).then(([s, list]) => {
    if (!s || (s.status !== "draft" && s.status !== "error")) return;
    const c = list.filter((x) => x.uuid === s.campaign_uuid)[0];
    if (!c) { banner(t("campaign_gone"), "warning"); return; }
    s.status = "draft";  // a refused survey: correct it, then finish again
    current = s;
    return openForm(c);
  });
}

function openForm(c) {
  ensureView();
  campaign = c;
  const s = current;
  $("#campaign-title").textContent = c.name + " · " + c.village;
  $("#campaign-household").value = s.household_no || "";
  $("#campaign-name").value = s.head.name || "";
  $("#campaign-id").value = s.head.id_number || "";
  $("#campaign-phone").value = s.head.phone || "";
  const rating = $("#campaign-rating");
  rating.innerHTML = "";
  rating.appendChild(el("option", { value: "" }, t("survey_choose")));
  (c.ratings || []).forEach((r) => rating.appendChild(el("option", { value: r.value }, r.label)));
  rating.value = s.rating || "";
  form = renderSurvey($("#campaign-survey"), withoutRating(c.survey.definition), s.answers, {
    open: false, onChange() { s.updated_at = new Date().toISOString(); renderMissing(); saver.soon(); },
  });
  if (s.error) banner(t("server_said", { message: errorText(s.error) }), "error");
  else banner("");
  show("view-campaign");
  $("#view-campaign").hidden = false;
  renderGps();
  renderMissing();
}

function idProblem(raw) {
  if (!raw) return null;
  const r = IdCard.parse(raw);
  return r.ok ? null : t(r.error, { n: r.n });
}

function missing(s) {
  const out = [];
  if (!String(s.household_no || "").trim()) out.push(t("campaign_missing_household"));
  if (!String(s.head.name || "").trim()) out.push(t("campaign_missing_name"));
  if (!s.head.id_number) out.push(t("campaign_missing_id"));
  else if (idProblem(s.head.id_number)) out.push(t("campaign_head_id") + ": " + idProblem(s.head.id_number));
  if (!s.rating) out.push(t("campaign_missing_rating"));
  if (!s.gps) out.push(t("campaign_missing_gps"));
  const problems = form ? form.errors(true) : {};
  const labels = {};
  (campaign.survey.definition.sections || []).forEach((sec) => (sec.questions || []).forEach((q) => { labels[q.key] = q.label; }));
  Object.keys(problems).filter((k) => k !== RATING_KEY).forEach((k) => out.push((labels[k] || k) + ": " + problems[k]));
  return out;
}

function renderMissing() {
  if (!current) return;
  const hint = $("#campaign-id-hint"), problem = idProblem(current.head.id_number);
  hint.textContent = problem || "";
  hint.className = problem ? "field-hint field-error" : "field-hint";
  renderChecklist($("#campaign-missing"), missing(current), t("campaign_complete"), $("#campaign-finish"));
}

function renderGps() {
  const g = current.gps;
  $("#campaign-gps-info").textContent = g ? t("gps_fix", { lat: g.lat.toFixed(6), lon: g.lon.toFixed(6), acc: g.accuracy_m }) : "";
}

function takeGps() {
  const s = current;
  return takePosition($("#campaign-gps-info")).then((pos) => {
    if (!pos) return;
    s.gps = pos;
    if (current !== s) return Store.putSurvey(s);
    renderGps();
    renderMissing();
    return saver.now();
  });
}

function finishSurvey() {
  const s = current;
  if (!s || missing(s).length) return;
  saver.cancel();
  const checked = checkSurvey(withoutRating(campaign.survey.definition), s.answers, { complete: true });
  s.sent_answers = checked.answers;  // what the server gets: decimal strings quantised, true/false
  s.head.id_number = IdCard.parse(s.head.id_number).number;
  s.surveyed_at = s.surveyed_at || new Date().toISOString();
  s.status = "queued";
  s.error = null;
  s.attempts = 0;
  s.next_attempt_at = null;
  return Store.putSurvey(s).then(() => {
    current = null;
    form = null;
    askPersistence();
    registerBackgroundSync();
    $("#view-campaign").hidden = true;
    show("view-home");
    banner(navigator.onLine ? t("campaign_sending") : t("campaign_queued_offline"), "info");
    renderHome();
    Sync.run({ sendNow: true });
  });
}

function leave() {
  return saver.now().then(() => {
    current = null;
    form = null;
    $("#view-campaign").hidden = true;
    show("view-home");
    banner("");
    renderHome();
  });
}

function discardSurvey() {
  const s = current;
  if (!s || !confirm(t("campaign_confirm_discard"))) return;
  saver.cancel();
  current = null;
  form = null;
  return Store.deleteSurvey(s).then(() => { $("#view-campaign").hidden = true; show("view-home"); renderHome(); });
}

// A surveyed household applies: an application draft with the head and the survey's answers filled
// in. The server matches his ID number with his pre-approval: within the approved limit, the light
// path (fewer photos, the director's approval only); above it, the normal path.
function applyFor(s) {
  return campaigns().then((list) => {
    const c = list.filter((x) => x.uuid === s.campaign_uuid)[0];
    return createDraft({ product_id: c ? c.product.id : undefined, village: s.village }).then((d) => {
      d.borrower = { ...d.borrower, name: s.head.name, id_number: s.head.id_number, phone: s.head.phone || "",
                     household_key: s.household_no || "" };
      if (d.survey) d.survey.answers = { ...s.answers, [RATING_KEY]: s.rating };
      // Approved by HQ (the campaign list says so): within the limit only the light path's photos
      // are asked for (capture.js missingPhotos); above it, every photo, as the server will want.
      const pa = c && c.preapproved ? c.preapproved[s.uuid] : null;
      d.light = pa && c.light_items ? { product_id: c.product.id, limit: pa.limit, valid_until: pa.valid_until, codes: c.light_items } : null;
      return Store.putDraft(d).then(() => openDraft(d.uuid));
    });
  });
}

function statusText(s) {
  if (s.status === "error") return t("server_said", { message: errorText(s.error) });
  if (s.status === "queued") return s.next_attempt_at ? t("campaign_retrying") : t("campaign_waiting");
  if (s.status === "sent") {
    const r = s.result || {};
    const parts = [t("campaign_sent")];
    if (r.score !== null && r.score !== undefined) parts.push(t("campaign_score", { score: r.score }));
    const pa = s.approved;
    parts.push(pa ? t("campaign_approved", { amount: yuan(pa.limit), day: pa.valid_until })
      : r.proposed_limit ? t("campaign_proposed", { amount: yuan(r.proposed_limit) }) : t("campaign_not_proposed"));
    return parts.join(" · ");
  }
  return t("campaign_draft");
}

// The home view's card (in the shell, after the groups: the officer's own work comes before what
// others decided): each open campaign with its "survey a household" button, then this phone's
// survey records. Resolves to how many are not yet at the server (for the badge).
export function renderCampaignsCard() {
  const card = $("#campaign-card");
  return Promise.all([campaigns(), Store.allSurveys()]).then(([list, surveys]) => {
    const cl = $("#list-campaigns"), sl = $("#list-surveys");
    cl.innerHTML = "";
    sl.innerHTML = "";
    card.hidden = !list.length && !surveys.length;
    list.forEach((c, i) => {
      const item = el("li", { className: "row" });
      item.dataset.uuid = c.uuid;
      item.appendChild(el("span", { className: "row-main" }, c.name + " · " + c.village));
      item.appendChild(el("span", { className: "row-sub" }, t("campaign_progress", { surveyed: c.surveyed, households: c.households })));
      const b = button(t("campaign_survey_one"), () => newSurvey(c), "primary");
      b.id = "campaign-new-" + i;
      item.appendChild(b);
      cl.appendChild(item);
    });
    if (!list.length) cl.appendChild(emptyRow(t("campaign_none")));
    let unsent = 0;
    const approved = {};
    list.forEach((c) => Object.assign(approved, c.preapproved || {}));
    surveys.sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at))).forEach((s) => {
      s.approved = approved[s.uuid] || null;  // shown only; never stored
      if (s.status !== "sent") unsent += s.status === "draft" ? 0 : 1;
      const item = el("li", { className: "row" + (s.status === "error" ? " row-error" : "") });
      item.dataset.uuid = s.uuid;
      item.dataset.status = s.status;
      item.appendChild(el("span", { className: "row-main" }, (s.head.name || "—") + " · " + (s.household_no || "") + " · " + s.village));
      item.appendChild(el("span", { className: "row-sub" }, statusText(s)));
      if (s.status === "draft" || s.status === "error") item.appendChild(button(t("edit"), () => openSurvey(s.uuid)));
      if (s.status === "sent" && s.result && s.result.proposed_limit) item.appendChild(button(t("campaign_apply"), () => applyFor(s)));
      sl.appendChild(item);
    });
    return unsent;
  });
}
