// The phone's sync engine. Our IndexedDB queue is the store of record: an item stays until the
// server confirms it. One run, in order: the version check, the applications (manifest, tus
// photo uploads), the visit reports, the field collections, notifications, the GPS trail, the work plan, returned
// to-dos. Runs never overlap; any run asked for during a run gets one more run after it (the busy
// run read the queue before, say, the officer finished an application).
// The page and the service worker (sw.js, woken by Background Sync with the app closed) both run
// this same code; a Web Lock ("ddt-sync") keeps their runs one after the other, never side by side.
import { ApiError, Halt, api, wipe, versionGate, activateWaiting, compareVersions, onChange, onBanner, emit,
  configure, clientVersion, requestBackgroundSync } from "./core.js";
import { syncApplications, fetchReturned } from "./applications.js";
import { localDay, syncReports, refreshPlan } from "./visits.js";
import { syncCollections } from "./collections.js";
import { syncSurveys } from "./surveys.js";
import { fetchNotifications, markNotificationsRead } from "./notices.js";
import { withinHours, sampleTrail, sendTrail } from "./trail.js";

let running = null;
let again = null;  // a "send now" (or regained signal) that came while a run was busy

function runOnce(opts) {
  if (!navigator.onLine) return Promise.resolve();
  return Store.getMeta("device").then((device) => {
    if (!device) return;
    // Every run asks first (one small GET): a phone that was offline for days may be outdated now.
    return versionGate()
      .then(() => syncApplications(opts))
      .then(() => syncReports(opts))
      .then(() => syncCollections(opts))
      .then(() => syncSurveys(opts))
      .then(fetchNotifications)
      .then(sendTrail)
      .then(() => refreshPlan(opts))
      .then(() => Store.getMeta("device_status").then((status) => { if (status !== "revoked") return fetchReturned(); }))
      .then(() => Store.setMeta("last_sync", new Date().toISOString()));
  });
}

// One run at a time across the page and the worker. Where the browser has no Web Locks the page's
// own guard below still holds, and a worker runs only when no page answers (sw.js).
function locked(work) {
  if (navigator.locks && navigator.locks.request) return navigator.locks.request("ddt-sync", work);
  return work();
}

// What still waits to be sent (photos held for Wi-Fi excepted): the worker's sync event fails
// while this is above zero, so the browser wakes it again later.
function pending() {
  return Promise.all([Store.allDrafts(), Store.allReports(), Store.getMeta("trail"), Store.allCollections(), Store.allSurveys()]).then(function (r) {
    var drafts = r[0].filter(function (d) { return (d.status === "queued" || d.status === "uploading") && !d.waiting_wifi; });
    var reports = r[1].filter(function (x) { return x.status === "queued"; });
    var collections = r[3].filter(function (x) { return x.status === "queued"; });
    var surveys = r[4].filter(function (x) { return x.status === "queued"; });
    return drafts.length + reports.length + (r[2] || []).length + collections.length + surveys.length;
  });
}

function run(opts) {
  opts = opts || {};
  if (running) {
    // Never swallow a request: what was queued after the busy run read the queue (an application
    // finished, a report written) goes as soon as it ends, not at the next timer a minute later.
    again = {
      sendNow: !!(opts.sendNow || (again && again.sendNow)),
      fresh: !!(opts.sendNow || opts.fresh || (again && again.fresh)),
    };
    return running;
  }
  running = locked(() => runOnce(opts)).catch((err) => {
    if (!(err instanceof Halt) && !(err instanceof ApiError)) console.error(err);
  }).then(() => {
    running = null;
    emit();
    if (again) {
      const next = again;
      again = null;
      return run(next);
    }
  });
  return running;
}

const Sync = {
  run, api, wipe, versionGate, activateWaiting, compareVersions, onChange, onBanner, localDay, sampleTrail,
  markNotificationsRead, withinHours, configure, pending, requestBackgroundSync,
  get clientVersion() { return clientVersion(); },
};
// Also on the page's global object: the browser tests and a technician's console reach it there.
self.Sync = Sync;
export default Sync;
