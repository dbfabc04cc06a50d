// The phone's sync engine. Our IndexedDB queue is the store of record: an item stays until the
// server confirms it. Manifest first (small, never waits for Wi-Fi), then photos by resumable
// tus upload; a photo's blob is deleted only after the server answers with its SHA-256.
// Network errors and 5xx retry with backoff; a 4xx is shown to the officer and the item is kept.
(function (global) {
  "use strict";
  var CLIENT_VERSION = document.body.dataset.clientVersion;
  var listeners = [];
  var running = null;

  function ApiError(status, body) {
    this.status = status;
    this.body = body || {};
    this.message = (body && body.message) || "HTTP " + status;
    // 0 = no answer; offset out of step; 460 = damaged in transit: all worth another try.
    // Other 409s (the server holds different content) need a person, not a retry.
    this.retryable = status === 0 || status >= 500 || status === 408 || status === 429 || status === 460 ||
      (status === 409 && (this.body.error === "offset_mismatch" || this.body.error === "changed_meanwhile"));
  }
  ApiError.prototype = Object.create(Error.prototype);

  // Thrown when the page is about to wipe itself or reload for an update: stop everything.
  function Halt() { this.message = "halt"; }
  Halt.prototype = Object.create(Error.prototype);

  function emit() { listeners.forEach(function (fn) { try { fn(); } catch (e) { console.error(e); } }); }

  function compareVersions(a, b) {
    var x = String(a).split(".").map(Number), y = String(b).split(".").map(Number);
    for (var i = 0; i < Math.max(x.length, y.length); i++) {
      var d = (x[i] || 0) - (y[i] || 0);
      if (d) return d > 0 ? 1 : -1;
    }
    return 0;
  }

  function authHeaders(device) {
    return { "Authorization": "Bearer " + device.token, "X-Device-Id": device.uuid, "X-Client-Version": CLIENT_VERSION };
  }

  function api(method, path, body) {
    return Store.getMeta("device").then(function (device) {
      if (!device) throw new ApiError(401, { error: "not_enrolled" });
      var headers = authHeaders(device);
      if (body !== undefined) headers["Content-Type"] = "application/json";
      return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store", credentials: "same-origin" })
        .catch(function () { throw new ApiError(0, { error: "network" }); })
        .then(function (resp) {
          return resp.json().catch(function () { return {}; }).then(function (data) {
            if (resp.ok) return data;
            return handleGlobal(resp.status, data).then(function () { throw new ApiError(resp.status, data); });
          });
        });
    });
  }

  // Answers that concern the whole phone, not one item: revoked → wipe; outdated → update.
  function handleGlobal(status, data) {
    if (status === 401 && data && data.wipe) return wipe().then(function () { throw new Halt(); });
    if (status === 426) return forceUpdate().then(function () { throw new Halt(); });
    return Promise.resolve();
  }

  function wipe() {
    var clearCaches = global.caches ? caches.keys().then(function (keys) { return Promise.all(keys.map(function (k) { return caches.delete(k); })); }) : Promise.resolve();
    var unregister = navigator.serviceWorker ? navigator.serviceWorker.getRegistrations().then(function (regs) { return Promise.all(regs.map(function (r) { return r.unregister(); })); }) : Promise.resolve();
    return Promise.all([Store.wipe(), clearCaches, unregister]).then(function () {
      // The server ended this officer's sessions when it revoked the phone; the login page says why.
      location.replace("/login?wiped=1");
    });
  }

  function waitForWaiting(reg) {
    return new Promise(function (resolve, reject) {
      if (reg.waiting) return resolve(reg.waiting);
      var worker = reg.installing;
      if (!worker) return reject(new Error("no new version found"));
      worker.addEventListener("statechange", function () {
        if (worker.state === "installed") resolve(reg.waiting || worker);
        if (worker.state === "redundant") reject(new Error("update failed"));
      });
    });
  }

  // The new worker has precached everything before it may take over; then the page reloads.
  function activateWaiting(reg) {
    return waitForWaiting(reg).then(function (worker) {
      return new Promise(function () {
        navigator.serviceWorker.addEventListener("controllerchange", function () { location.reload(); }, { once: true });
        worker.postMessage({ type: "SKIP_WAITING" });
      });
    });
  }

  function forceUpdate() {
    emitBanner("updating");
    if (!navigator.serviceWorker) { location.reload(); return new Promise(function () {}); }
    return navigator.serviceWorker.getRegistration("/").then(function (reg) {
      if (!reg) { location.reload(); return new Promise(function () {}); }
      return reg.update().then(function () { return activateWaiting(reg); });
    });
  }

  var bannerHandler = null;
  function emitBanner(key) { if (bannerHandler) bannerHandler(key); }

  // Before anything syncs: an outdated client updates first; a merely older one updates next start.
  function versionGate() {
    return fetch("/api/v1/version", { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (v) {
        if (compareVersions(v.min_supported, CLIENT_VERSION) > 0) return forceUpdate().then(function () { throw new Halt(); });
        if (compareVersions(v.current, CLIENT_VERSION) > 0 && navigator.serviceWorker) {
          navigator.serviceWorker.getRegistration("/").then(function (reg) { if (reg) reg.update(); });
        }
      }, function () { /* offline: check again next time */ });
  }

  function manifestOf(d) {
    return {
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

  function backoffMs(attempts) { return Math.min(5000 * Math.pow(2, attempts - 1), 10 * 60 * 1000); }

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
      return Store.allDrafts().then(function (drafts) {
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

  // --- the day's work plan and visit reports ----------------------------------------------
  // The plan is kept in meta "plan" for offline use. A finished visit report is its own record
  // (store "reports") with its photos in "blobs"; it stays until the server answers 200, and the
  // photo blobs go only after that answer. Same retry rules as manifests: network errors and 5xx
  // back off, a 422 opens the report for correction, a 409 task_closed drops the task from the plan.

  function pad2(n) { return (n < 10 ? "0" : "") + n; }

  function localDay(d) {
    d = d || new Date();
    return d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate());
  }

  function base64Of(blob) {
    return blob.arrayBuffer().then(function (buf) {
      var bytes = new Uint8Array(buf), parts = [], step = 0x8000;
      for (var i = 0; i < bytes.length; i += step) parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + step)));
      return btoa(parts.join(""));
    });
  }

  function reportBody(r, photos) {
    var o = r.outcome || {};
    return {
      report_uuid: r.uuid,
      completed_at: r.finished_at,
      outcome: {
        met_borrower: !!o.met_borrower,
        paid_amount: o.paid_amount || "0.00",
        promise_date: o.promise_date || null,
        promise_amount: o.promise_amount || null,
        loan_use_verified: o.loan_use_verified === undefined ? null : o.loan_use_verified,
        notes: o.notes || "",
      },
      gps: r.gps ? { lat: r.gps.lat, lon: r.gps.lon, accuracy_m: r.gps.accuracy_m, at: r.gps.at, is_mock: !!r.gps.is_mock } : null,
      photos: photos,
    };
  }

  // Changes one task of the stored plan (fn returns false to drop it).
  function updatePlanTask(taskUuid, fn) {
    return Store.getMeta("plan").then(function (plan) {
      if (!plan || !plan.tasks) return;
      plan.tasks = plan.tasks.filter(function (task) { return task.uuid !== taskUuid || fn(task) !== false; });
      return Store.setMeta("plan", plan);
    });
  }

  function sendReport(r) {
    return Promise.all((r.photos || []).map(function (p) {
      return Store.getBlob(p.uuid).then(function (blob) {
        if (!blob) throw new ApiError(410, { error: "photo_missing", message: "photo missing on the phone" });
        return base64Of(blob).then(function (b64) { return { uuid: p.uuid, sha256: p.sha256, content_base64: b64 }; });
      });
    })).then(function (photos) {
      return api("POST", "/api/v1/tasks/" + encodeURIComponent(r.task_uuid) + "/report", reportBody(r, photos));
    }).then(function (resp) {
      // Record the answer first, then free the blobs: a crash in between leaves spare blobs, never a lost photo.
      r.status = "sent";
      r.sent_at = new Date().toISOString();
      r.result = { status: resp.status, on_site: resp.on_site === undefined ? null : resp.on_site, distance_m: resp.distance_m === undefined ? null : resp.distance_m, flags: resp.flags || [] };
      r.photos.forEach(function (p) { p.confirmed = true; });
      r.error = null;
      r.attempts = 0;
      r.next_attempt_at = null;
      return Store.putReport(r)
        .then(function () { return Promise.all(r.photos.map(function (p) { return Store.deleteBlob(p.uuid); })); })
        .then(function () {
          return updatePlanTask(r.task_uuid, function (task) { task.status = "done"; task.result = r.result; task.report_uuid = r.uuid; });
        });
    });
  }

  function reportDue(r, now, opts) {
    if (r.status === "queued") return opts.sendNow || opts.fresh || !r.next_attempt_at || Date.parse(r.next_attempt_at) <= now;
    // A refused report that needs no correction (say a 403) may be tried again by hand.
    return r.status === "error" && opts.sendNow && !r.needs_fix;
  }

  function syncReports(opts) {
    return Store.allReports().then(function (reports) {
      var now = Date.now();
      var work = reports.filter(function (r) { return reportDue(r, now, opts); })
        .sort(function (a, b) { return String(a.finished_at).localeCompare(String(b.finished_at)); });
      return work.reduce(function (chain, r) {
        return chain.then(function () {
          if (r.status === "error") r.status = "queued";
          return sendReport(r).then(null, function (err) {
            if (err instanceof Halt) throw err;
            if (!(err instanceof ApiError)) throw err;
            var error = { status: err.status, code: err.body.error, message: err.body.message || err.message, fields: err.body.fields || {}, at: new Date().toISOString() };
            if (err.retryable) {
              r.attempts = (r.attempts || 0) + 1;
              r.next_attempt_at = new Date(Date.now() + backoffMs(r.attempts)).toISOString();
              return Store.putReport(r);
            }
            if (err.status === 409 && err.body.error === "task_closed") {
              // Reassigned, cancelled or done by another report: off the plan; the note stays until dismissed.
              r.status = "closed";
              r.error = error;
              return Store.putReport(r).then(function () { return updatePlanTask(r.task_uuid, function () { return false; }); });
            }
            r.status = "error";
            r.error = error;
            // 422 (or a photo gone from the phone): the officer corrects the report, then finishes it again.
            r.needs_fix = err.status === 422 || err.status === 410;
            return Store.putReport(r);
          }).then(emit);
        });
      }, Promise.resolve());
    });
  }

  // Sent reports are kept a week as the record of what was done; then they go (their blobs went at the 200).
  function pruneReports() {
    var cutoff = Date.now() - 7 * 24 * 3600 * 1000;
    return Store.allReports().then(function (reports) {
      return Promise.all(reports.filter(function (r) { return r.status === "sent" && Date.parse(r.sent_at) < cutoff; })
        .map(function (r) { return Store.deleteReport(r); }));
    });
  }

  // How old the stored plan may grow while the app is open with signal: the timer's run renews it
  // after this, so a task the server creates during the day reaches the phone without "Send now".
  var PLAN_MAX_AGE_MS = 5 * 60 * 1000;

  function planStale(plan, opts) {
    if (!plan || plan.fetched_day !== localDay()) return true;
    // Opening the app, coming back to it, regaining signal ("fresh") or "Send now": renew at once.
    if (opts.sendNow || opts.fresh) return true;
    return !(Date.now() - Date.parse(plan.fetched_at) < PLAN_MAX_AGE_MS);
  }

  // Downloads the plan when it is stale; offline the stored copy serves.
  function refreshPlan(opts) {
    return Store.getMeta("plan").then(function (plan) {
      if (!planStale(plan, opts)) return;
      return api("GET", "/api/v1/plan").then(function (resp) {
        var next = { date: resp.date, settings: resp.settings || {}, tasks: resp.tasks || [], fetched_at: new Date().toISOString(), fetched_day: localDay() };
        return Store.setMeta("plan", next)
          .then(function () { return Store.deleteMeta("plan_error"); })
          .then(pruneReports)
          .then(emit);
      }, function (err) {
        if (err instanceof Halt) throw err;
        if (!(err instanceof ApiError)) throw err;
        return Store.setMeta("plan_error", { status: err.status, message: err.status ? (err.body.message || err.message) : "", at: new Date().toISOString() }).then(emit);
      });
    });
  }

  function runOnce(opts) {
    if (!navigator.onLine) return Promise.resolve();
    return Store.getMeta("device").then(function (device) {
      if (!device) return;
      // Every run asks first (one small GET): a phone that was offline for days may be outdated now.
      return versionGate()
        .then(function () { return Store.allDrafts(); })
        .then(function (drafts) {
          var now = Date.now();
          var work = drafts.filter(function (d) { return due(d, now, opts); })
            .sort(function (a, b) { return String(a.finished_at).localeCompare(String(b.finished_at)); });
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
        })
        .then(function () { return syncReports(opts); })
        .then(fetchNotifications)
        .then(sendTrail)
        .then(function () { return refreshPlan(opts); })
        .then(function () {
          return Store.getMeta("device_status").then(function (status) { if (status !== "revoked") return fetchReturned(); });
        })
        .then(function () { return Store.setMeta("last_sync", new Date().toISOString()); });
    });
  }

  var again = null;  // a "send now" (or regained signal) that came while a run was busy

  function run(opts) {
    opts = opts || {};
    if (running) {
      // Never swallow the officer's "send now": it runs as soon as the current run ends.
      if (opts.sendNow || opts.fresh) again = { sendNow: !!(opts.sendNow || (again && again.sendNow)), fresh: true };
      return running;
    }
    running = runOnce(opts).catch(function (err) {
      if (!(err instanceof Halt) && !(err instanceof ApiError)) console.error(err);
    }).then(function () {
      running = null;
      emit();
      if (again) {
        var next = again;
        again = null;
        return run(next);
      }
    });
    return running;
  }

  // --- notifications: decisions, new tasks, escalations; the last ones kept for offline reading ---

  function fetchNotifications() {
    return api("GET", "/api/v1/notifications").then(function (resp) {
      return Store.setMeta("notifications", resp).then(emit);
    }, function (err) { if (err instanceof Halt) throw err; });
  }

  function markNotificationsRead() {
    return api("POST", "/api/v1/notifications/read", {}).then(fetchNotifications);
  }

  // --- GPS trail: sampled while the app is open in working hours, kept until the server confirms ---

  function withinHours(hours, now) {
    var m = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(hours || "");
    if (!m) return true;
    var minutes = now.getHours() * 60 + now.getMinutes();
    return minutes >= Number(m[1]) * 60 + Number(m[2]) && minutes < Number(m[3]) * 60 + Number(m[4]);
  }

  function sampleTrail() {
    return Promise.all([Store.getMeta("bootstrap"), Store.getMeta("device"), Store.getMeta("trail_last")]).then(function (r) {
      var settings = (r[0] && r[0].settings) || {};
      var every = (settings.trail_interval_min || 5) * 60000;
      if (!r[1] || !withinHours(settings.trail_hours, new Date())) return null;
      if (r[2] && Date.now() - Date.parse(r[2]) < every - 5000) return null;
      return Bridge.getPosition().then(function (pos) {
        var point = { uuid: crypto.randomUUID(), at: pos.at || new Date().toISOString(), lat: pos.lat, lon: pos.lon,
                      accuracy_m: pos.accuracy_m, is_mock: !!pos.is_mock };
        return Store.getMeta("trail").then(function (points) {
          points = points || [];
          points.push(point);
          return Promise.all([Store.setMeta("trail", points.slice(-5000)),  // a week at most, if never sent
                              Store.setMeta("trail_last", new Date().toISOString())]);
        });
      }, function () { return null; });  // no fix now: try at the next interval
    });
  }

  function sendTrail() {
    return Store.getMeta("trail").then(function (points) {
      if (!points || !points.length) return;
      var batch = points.slice(0, 500);
      return api("POST", "/api/v1/track", { points: batch }).then(function (resp) {
        // Only what the server confirmed (or refused as invalid) leaves the phone.
        var done = {};
        resp.confirmed.forEach(function (u) { done[u] = true; });
        resp.rejected.forEach(function (r) { if (r.index !== null && batch[r.index]) done[batch[r.index].uuid] = true; });
        return Store.getMeta("trail").then(function (now) {
          return Store.setMeta("trail", (now || []).filter(function (p) { return !done[p.uuid]; }));
        });
      }, function (err) { if (err instanceof Halt) throw err; });
    });
  }

  global.Sync = {
    run: run,
    api: api,
    wipe: wipe,
    versionGate: versionGate,
    activateWaiting: activateWaiting,
    compareVersions: compareVersions,
    onChange: function (fn) { listeners.push(fn); },
    onBanner: function (fn) { bannerHandler = fn; },
    localDay: localDay,
    sampleTrail: sampleTrail,
    markNotificationsRead: markNotificationsRead,
    withinHours: withinHours,
    clientVersion: CLIENT_VERSION,
  };
})(self);
