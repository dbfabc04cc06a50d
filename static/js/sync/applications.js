// The applications queue: manifest first (small, never waits for Wi-Fi), then the photos by
// resumable tus upload; a photo's blob is deleted only after the server answers with its SHA-256.
// Network errors and 5xx retry with backoff; a 4xx is shown to the officer and the item is kept.
// Applications a reviewer returned come back as to-dos.
import { ApiError, Halt, emit, authHeaders, api, handleGlobal, backoffMs } from "./core.js";
import { fetchHttpStack } from "./http.js";

function manifestOf(d) {
  var m = {
    uuid: d.uuid,
    captured_at: d.finished_at,
    borrower: { uuid: d.borrower.uuid, name: d.borrower.name, id_number: d.borrower.id_number, phone: d.borrower.phone || "", village: d.borrower.village || "", address: d.borrower.address || "" },
    product_id: Number(d.product_id),
    amount: String(d.amount),
    term_months: Number(d.term_months),
    purpose: d.purpose,
    gps: d.gps ? { lat: d.gps.lat, lon: d.gps.lon, accuracy_m: d.gps.accuracy_m, at: d.gps.at, note: d.gps_note || "" } : null,
    photos: photoEntries(d),
  };
  // Only what the draft holds: a manifest a phone sent before these existed hashes as it did.
  if (d.borrower.household_key) m.borrower.household_key = d.borrower.household_key;
  if (d.survey && d.survey_sent) m.survey = { version_id: d.survey.version_id, answers: d.survey_sent };
  if (d.group) m.group = d.group;
  return m;
}

function confirmPhoto(d, p) {
  // Record the confirmation first, then free the blob: a crash in between leaves a spare blob, never a lost photo.
  p.confirmed = true;
  p.progress = p.size;
  progressMade(d);
  return Store.putDraft(d).then(function () { return Store.deleteBlob(p.uuid); });
}

function uploadPhoto(d, p) {
  return Promise.all([Store.getMeta("device"), Store.getBlob(p.uuid), Store.getMeta("bootstrap")]).then(function (r) {
    var device = r[0], blob = r[1], boot = r[2] || { settings: {} };
    if (!blob) throw new ApiError(410, { error: "photo_missing", message: "photo missing on the phone" });
    return new Promise(function (resolve, reject) {
      var upload = new tus.Upload(blob, {
        uploadUrl: "/api/v1/uploads/" + p.uuid,
        uploadSize: blob.size,
        chunkSize: boot.settings.upload_chunk_bytes || 256 * 1024,
        retryDelays: [0, 1000, 3000],
        storeFingerprintForResuming: false,
        // fetch, not XMLHttpRequest: the service worker runs this too (sync/http.js).
        httpStack: fetchHttpStack,
        headers: authHeaders(device),
        onProgress: function (sent) { p.progress = sent; emit(); },
        onSuccess: function (payload) {
          var verified = payload && payload.lastResponse && payload.lastResponse.getHeader("X-Photo-Verified");
          if (verified === p.sha256) resolve();
          else reject(new ApiError(0, { error: "not_verified" }));
        },
        onError: function (err) {
          var res = err && err.originalResponse;
          if (!res || !res.getStatus()) return reject(new ApiError(0, { error: "network" }));
          var body = {};
          try { body = JSON.parse(res.getBody()); } catch (e) { /* not JSON, or a HEAD answer */ }
          if (res.getHeader("X-Device-Wipe") === "1") body.wipe = true;
          handleGlobal(res.getStatus(), body).then(function () { reject(new ApiError(res.getStatus(), body)); }, reject);
        },
      });
      upload.start();
    });
  });
}

function photoEntries(d) {
  return d.photos.map(function (p) {
    return { uuid: p.uuid, item_id: p.item_id, sequence: p.sequence, sha256: p.sha256, size: p.size, taken_at: p.taken_at };
  });
}

function syncDraft(d, opts) {
  var step = Promise.resolve();
  if (d.resubmit) {
    // The answer to a return: new photos (all listed, the server skips those it holds) and a note.
    step = api("POST", "/api/v1/applications/" + d.uuid + "/resubmit", { note: d.resubmit_note || "", photos: photoEntries(d) }).then(function (resp) {
      d.server = { application_id: resp.application_id, state: resp.state, needed: resp.needed };
      d.resubmit = false;
      d.todo = null;
      d.status = "uploading";
      progressMade(d);
      return Store.putDraft(d).then(emit);
    });
  } else if (!d.server) {
    step = api("POST", "/api/v1/applications", manifestOf(d)).then(function (resp) {
      d.server = { application_id: resp.application_id, state: resp.state, needed: resp.needed };
      d.status = "uploading";
      d.error = null;
      progressMade(d);
      return Store.putDraft(d).then(emit);
    });
  }
  return step.then(function () {
    var needed = d.server.needed || [];
    var already = d.photos.filter(function (p) { return !p.confirmed && needed.indexOf(p.uuid) < 0; });
    return already.reduce(function (chain, p) { return chain.then(function () { return confirmPhoto(d, p); }); }, Promise.resolve());
  }).then(function () {
    var pending = d.photos.filter(function (p) { return !p.confirmed; });
    return Store.getMeta("wifi_only").then(function (wifiOnly) {
      // The manifest never waits; big photo uploads wait for Wi-Fi unless the officer says "send now".
      if (pending.length && wifiOnly && !opts.sendNow && Bridge.onWifi() === false) {
        d.waiting_wifi = true;
        return;
      }
      d.waiting_wifi = false;
      return pending.reduce(function (chain, p) {
        return chain.then(function () { return uploadPhoto(d, p); }).then(function () { return confirmPhoto(d, p); });
      }, Promise.resolve()).then(function () {
        if (d.photos.every(function (p) { return p.confirmed; })) d.status = "sent";
      });
    });
  });
}

// Backoff counts failures in a row: any step forward starts it again from the shortest wait.
function progressMade(d) {
  d.attempts = 0;
  d.next_attempt_at = null;
}

function due(d, now, opts) {
  // Backoff paces the timer; opening the app or regaining signal ("fresh") tries at once.
  if (d.status === "queued" || d.status === "uploading") return opts.sendNow || opts.fresh || !d.next_attempt_at || Date.parse(d.next_attempt_at) <= now;
  // A refused photo may be tried again by hand; a refused manifest needs correcting first.
  return d.status === "error" && opts.sendNow && d.server;
}

function refreshStatuses(drafts) {
  var known = drafts.filter(function (d) { return d.server && d.status === "sent"; });
  if (!known.length) return Promise.resolve();
  var query = known.map(function (d) { return "uuid=" + encodeURIComponent(d.uuid); }).join("&");
  return api("GET", "/api/v1/applications/status?" + query).then(function (resp) {
    var byUuid = {};
    resp.applications.forEach(function (a) { byUuid[a.uuid] = a; });
    return Promise.all(known.map(function (d) {
      var a = byUuid[d.uuid];
      if (!a || a.state === d.server.state) return null;
      d.server.state = a.state;
      return Store.putDraft(d);
    }));
  });
}

// Applications a reviewer sent back become to-dos on the phone, with the reason; a phone that
// never held the draft (a replacement phone) rebuilds it from what the server has.
function fetchReturned() {
  return api("GET", "/api/v1/returned").then(function (resp) {
    return learnReturned(resp.groups || []).then(function () { return Store.allDrafts(); }).then(function (drafts) {
      var byUuid = {};
      drafts.forEach(function (d) { byUuid[d.uuid] = d; });
      return Promise.all(resp.applications.map(function (a) {
        var todo = { reason: a.reason, by: a.returned_by, at: a.returned_at };
        var d = byUuid[a.uuid];
        if (d && (d.status === "returned" || d.resubmit)) return null;  // already a to-do, or answered and waiting to send
        if (!d) {
          d = {
            uuid: a.uuid, created_at: new Date().toISOString(), finished_at: a.returned_at,
            borrower: { mode: "existing", uuid: a.borrower.uuid, name: a.borrower.name, id_number: a.borrower.id_number, phone: a.borrower.phone || "", village: a.borrower.village || "", address: a.borrower.address || "" },
            product_id: a.product_id, amount: a.amount, term_months: String(a.term_months), purpose: a.purpose, gps: null, gps_note: "",
            photos: [],
          };
        }
        // Photos the server holds are confirmed; anything else the phone still has stays as it is.
        var known = {};
        d.photos.forEach(function (p) { known[p.uuid] = p; });
        a.photos.forEach(function (sp) {
          if (known[sp.uuid]) { known[sp.uuid].confirmed = true; return; }
          d.photos.push({ uuid: sp.uuid, item_id: sp.item_id, sequence: sp.sequence, sha256: sp.sha256, size: sp.size, confirmed: true });
        });
        d.server = { application_id: a.application_id, state: a.state, needed: [] };
        d.status = "returned";
        d.todo = todo;
        d.error = null;
        return Store.putDraft(d);
      }));
    });
  });
}

// The joint-liability groups the server says are returned to this officer (kept in meta "groups", as
// static/js/phone/groups.js reads them): kept, or made on a phone that did not form them, with the
// server's members; new members sent (status "sending") wait until the server holds them all; a group
// no longer returned is finished again.
function learnReturned(serverGroups) {
  return Store.getMeta("groups").then((found) => {
    const all = found || {};
    const listed = {};
    serverGroups.forEach((sg) => {
      listed[sg.uuid] = true;
      const g = all[sg.uuid] || { uuid: sg.uuid, members: [], created_at: new Date().toISOString() };
      Object.assign(g, { name: sg.name, village: sg.village, product_id: sg.product_id, relatives: sg.relatives });
      g.returned = { size: sg.size, members: sg.members, relatives: sg.relatives, members_to_come: sg.members_to_come };
      g.additions = g.additions || [];
      // New members sent and still on their way: the group stays finished until the server has them.
      const held = sg.members.map((m) => m.uuid);
      if (g.status === "sending" && g.additions.every((u) => held.indexOf(u) >= 0)) g.additions = [];
      if (g.status !== "sending" || !g.additions.length) g.status = "returned";
      all[sg.uuid] = g;
    });
    Object.keys(all).forEach((k) => {
      const g = all[k];
      if ((g.status === "returned" || g.status === "sending") && !listed[k]) { g.status = "finished"; g.returned = null; }
    });
    return Store.setMeta("groups", all);
  });
}

// Sends every application that is due, oldest first, then refreshes the states of the sent ones.
export function syncApplications(opts) {
  return Store.allDrafts().then(function (drafts) {
    var now = Date.now();
    var work = drafts.filter(function (d) { return due(d, now, opts); })
      // New applications before answers to returns: a returned group's new members reach the server
      // before its returned members come back, so the group waits for them (group_capture.attach).
      .sort(function (a, b) { return (a.resubmit ? 1 : 0) - (b.resubmit ? 1 : 0) || String(a.finished_at).localeCompare(String(b.finished_at)); });
    return work.reduce(function (chain, d) {
      return chain.then(function () {
        if (d.status === "error") d.status = "uploading";
        return syncDraft(d, opts).then(function () {
          d.attempts = 0;
          d.next_attempt_at = null;
          d.error = null;
        }, function (err) {
          if (err instanceof Halt) throw err;
          if (!(err instanceof ApiError)) throw err;
          if (err.retryable) {
            d.attempts = (d.attempts || 0) + 1;
            d.next_attempt_at = new Date(Date.now() + backoffMs(d.attempts)).toISOString();
          } else if (d.resubmit) {
            // A refused answer goes back to the to-do list with the server's reason.
            d.resubmit = false;
            d.status = err.status === 409 ? "error" : "returned";
            d.error = { stage: "resubmit", status: err.status, code: err.body.error, message: err.body.message || err.message, fields: err.body.fields || {} };
          } else {
            d.status = "error";
            d.error = { stage: d.server ? "photo" : "manifest", status: err.status, code: err.body.error, message: err.body.message || err.message, fields: err.body.fields || {} };
          }
        }).then(function () { return Store.putDraft(d); }).then(emit);
      });
    }, Promise.resolve()).then(function () { return refreshStatuses(drafts); });
  });
}

export { fetchReturned };
