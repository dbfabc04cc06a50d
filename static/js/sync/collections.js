// Repayments the officer took in the village (field collection). A finished collection is its own
// record (store "collections") with the borrower's signature photo in "blobs"; it stays until the
// server answers 200 (its client UUID makes a resend harmless), and the blob goes only after that.
// Same retry rules as the visit reports: no answer, 5xx and "changed meanwhile" back off; any other
// refusal (more than owed, a closed loan, not his loan) waits for the officer to correct or discard
// it. Sent collections whose SMS receipt is still queued ask the server how it went.
import { ApiError, Halt, emit, api, backoffMs } from "./core.js";

function base64Of(blob) {
  return blob.arrayBuffer().then(function (buf) {
    var bytes = new Uint8Array(buf), parts = [], step = 0x8000;
    for (var i = 0; i < bytes.length; i += step) parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + step)));
    return btoa(parts.join(""));
  });
}

function sendCollection(c) {
  var photo = c.photos[0];
  return Store.getBlob(photo.uuid).then(function (blob) {
    if (!blob) throw new ApiError(410, { error: "photo_missing", message: "photo missing on the phone" });
    return base64Of(blob);
  }).then(function (b64) {
    return api("POST", "/api/v1/collections", {
      uuid: c.uuid, loan_id: c.loan_id, amount: c.amount, taken_at: c.taken_at,
      gps: c.gps ? { lat: c.gps.lat, lon: c.gps.lon, accuracy_m: c.gps.accuracy_m, at: c.gps.at, is_mock: !!c.gps.is_mock } : null,
      photo: { uuid: photo.uuid, sha256: photo.sha256, content_base64: b64 },
    });
  }).then(function (resp) {
    // Record the answer first, then free the blob: a crash in between leaves a spare blob, never a lost photo.
    c.status = "sent";
    c.sent_at = new Date().toISOString();
    c.result = resp;
    c.photos.forEach(function (p) { p.confirmed = true; });
    c.error = null;
    c.attempts = 0;
    c.next_attempt_at = null;
    return Store.putCollection(c).then(function () { return Promise.all(c.photos.map(function (p) { return Store.deleteBlob(p.uuid); })); });
  });
}

function due(c, now, opts) {
  if (c.status === "queued") return opts.sendNow || opts.fresh || !c.next_attempt_at || Date.parse(c.next_attempt_at) <= now;
  return false;
}

function syncCollections(opts) {
  return Store.allCollections().then(function (all) {
    var now = Date.now();
    var work = all.filter(function (c) { return due(c, now, opts); })
      .sort(function (a, b) { return String(a.taken_at).localeCompare(String(b.taken_at)); });
    return work.reduce(function (chain, c) {
      return chain.then(function () {
        return sendCollection(c).then(null, function (err) {
          if (err instanceof Halt) throw err;
          if (!(err instanceof ApiError)) throw err;
          if (err.retryable) {
            c.attempts = (c.attempts || 0) + 1;
            c.next_attempt_at = new Date(Date.now() + backoffMs(c.attempts)).toISOString();
            return Store.putCollection(c);
          }
          c.status = "error";
          c.error = { status: err.status, code: err.body.error, message: err.body.message || err.message, fields: err.body.fields || {}, at: new Date().toISOString() };
          return Store.putCollection(c);
        }).then(emit);
      });
    }, Promise.resolve()).then(function () { return refreshReceipts(all); });
  });
}

// The receipts still queued at the server (sent in the last two days): one GET for all of them.
function refreshReceipts(all) {
  var cutoff = Date.now() - 2 * 24 * 3600 * 1000;
  var waiting = all.filter(function (c) {
    return c.status === "sent" && c.result && c.result.receipt === "queued" && Date.parse(c.sent_at) > cutoff;
  });
  if (!waiting.length) return pruneCollections(all);
  var query = waiting.map(function (c) { return "uuid=" + encodeURIComponent(c.uuid); }).join("&");
  return api("GET", "/api/v1/collections/status?" + query).then(function (resp) {
    var byUuid = {};
    (resp.collections || []).forEach(function (x) { byUuid[x.uuid] = x; });
    var changed = waiting.filter(function (c) {
      var now = byUuid[c.uuid];
      if (!now || (now.receipt === c.result.receipt && now.status === c.result.status)) return false;
      c.result = now;
      return true;
    });
    return Promise.all(changed.map(function (c) { return Store.putCollection(c); })).then(function () { if (changed.length) emit(); });
  }, function (err) {
    if (err instanceof Halt) throw err;
    if (!(err instanceof ApiError)) throw err;
  }).then(function () { return pruneCollections(all); });
}

// Sent collections are kept a week as the officer's record of what he took; then they go.
function pruneCollections(all) {
  var cutoff = Date.now() - 7 * 24 * 3600 * 1000;
  return Promise.all(all.filter(function (c) { return c.status === "sent" && Date.parse(c.sent_at) < cutoff; })
    .map(function (c) { return Store.deleteCollection(c); }));
}

export { syncCollections };
