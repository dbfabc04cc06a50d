// The day's work plan and the visit reports. The plan is kept in meta "plan" for offline use. A
// finished visit report is its own record (store "reports") with its photos in "blobs"; it stays
// until the server answers 200, and the photo blobs go only after that answer. Same retry rules as
// manifests: network errors and 5xx back off, a 422 opens the report for correction, a 409
// task_closed drops the task from the plan.
import { ApiError, Halt, emit, api, backoffMs } from "./core.js";

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

export { localDay, syncReports, refreshPlan };
