// Households surveyed in a village campaign (static/js/phone/campaign.js; app/services/villages.py).
// A finished survey is its own record (store "surveys"); it stays until the server answers 200 (its
// client UUID makes a resend harmless: the server answers the same and records nothing twice). No
// answer, 5xx and "changed meanwhile" back off; any other refusal (a wrong ID number, an answer out
// of range, a closed campaign) waits for the officer to correct or discard it. Then the open
// campaigns of his office are fetched for the next surveys (meta "campaigns").
import { ApiError, Halt, emit, api, backoffMs } from "./core.js";

function sendSurvey(s) {
  return api("POST", "/api/v1/campaigns/" + encodeURIComponent(s.campaign_uuid) + "/households", {
    uuid: s.uuid, surveyed_at: s.surveyed_at, household_no: s.household_no,
    head: { name: s.head.name, id_number: s.head.id_number, phone: s.head.phone || null },
    answers: s.sent_answers || {}, rating: s.rating,
    gps: s.gps ? { lat: s.gps.lat, lon: s.gps.lon, accuracy_m: s.gps.accuracy_m, at: s.gps.at || null, is_mock: !!s.gps.is_mock } : null,
  }).then(function (resp) {
    s.status = "sent";
    s.sent_at = new Date().toISOString();
    s.result = resp;
    s.error = null;
    s.attempts = 0;
    s.next_attempt_at = null;
    return Store.putSurvey(s);
  });
}

function due(s, now, opts) {
  return s.status === "queued" && (opts.sendNow || opts.fresh || !s.next_attempt_at || Date.parse(s.next_attempt_at) <= now);
}

function syncSurveys(opts) {
  return Store.allSurveys().then(function (all) {
    var now = Date.now();
    var work = all.filter(function (s) { return due(s, now, opts); })
      .sort(function (a, b) { return String(a.surveyed_at).localeCompare(String(b.surveyed_at)); });
    return work.reduce(function (chain, s) {
      return chain.then(function () {
        return sendSurvey(s).then(null, function (err) {
          if (err instanceof Halt) throw err;
          if (!(err instanceof ApiError)) throw err;
          if (err.retryable) {
            s.attempts = (s.attempts || 0) + 1;
            s.next_attempt_at = new Date(Date.now() + backoffMs(s.attempts)).toISOString();
            return Store.putSurvey(s);
          }
          s.status = "error";
          s.error = { status: err.status, code: err.body.error, message: err.body.message || err.message, fields: err.body.fields || {}, at: new Date().toISOString() };
          return Store.putSurvey(s);
        }).then(emit);
      });
    }, Promise.resolve()).then(function () { return pruneSurveys(all); });
  }).then(refreshCampaigns);
}

// The open campaigns of the officer's office with their surveys; the old list stays if this fails.
function refreshCampaigns() {
  return api("GET", "/api/v1/campaigns").then(function (resp) {
    return Store.setMeta("campaigns", resp.campaigns || []).then(emit);
  }, function (err) {
    if (err instanceof Halt) throw err;
    if (!(err instanceof ApiError)) throw err;
  });
}

// Sent surveys are kept a week as the officer's record of the campaign; then they go.
function pruneSurveys(all) {
  var cutoff = Date.now() - 7 * 24 * 3600 * 1000;
  return Promise.all(all.filter(function (s) { return s.status === "sent" && Date.parse(s.sent_at) < cutoff; })
    .map(function (s) { return Store.deleteSurvey(s); }));
}

function queuedSurveys() {
  return Store.allSurveys().then(function (all) { return all.filter(function (s) { return s.status === "queued"; }).length; });
}

export { syncSurveys, refreshCampaigns, queuedSurveys };
