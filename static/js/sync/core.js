// The phone's link to the server: authenticated API calls, the errors worth another try, and the
// answers that concern the whole phone (revoked -> wipe, outdated -> update first). The queues
// (applications.js, visits.js, trail.js, notices.js) go through here; index.js runs them.
// The same modules run in the page and in the service worker (sw.js, on its "sync" event): nothing
// here touches document, window or location at load time, and what differs between the two
// (wiping, updating, telling the screen) asks inWorker() first.
const listeners = [];
let configuredVersion = null;

// The service worker: no page, no DOM; it tells open pages by message.
function inWorker() {
  return typeof self.ServiceWorkerGlobalScope !== "undefined" && self instanceof self.ServiceWorkerGlobalScope;
}

// The page reads its client version from <body data-client-version>; the worker is told (sw.js
// carries the version the server wrote into it).
function configure(options) { configuredVersion = options.version; }
function clientVersion() {
  if (configuredVersion) return configuredVersion;
  return self.document && document.body ? document.body.dataset.clientVersion : "";
}

// Posts a message to every open page of the app (from the worker).
function tellPages(message) {
  if (!inWorker()) return Promise.resolve();
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (pages) {
    pages.forEach(function (page) { page.postMessage(message); });
  });
}

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

// Something in the queue changed: the page redraws; the worker tells the open pages to.
function emit() {
  listeners.forEach(function (fn) { try { fn(); } catch (e) { console.error(e); } });
  tellPages({ type: "changed" });
}

function compareVersions(a, b) {
  var x = String(a).split(".").map(Number), y = String(b).split(".").map(Number);
  for (var i = 0; i < Math.max(x.length, y.length); i++) {
    var d = (x[i] || 0) - (y[i] || 0);
    if (d) return d > 0 ? 1 : -1;
  }
  return 0;
}

function authHeaders(device) {
  return Object.assign({ "Authorization": "Bearer " + device.token, "X-Device-Id": device.uuid, "X-Client-Version": clientVersion() }, device.sim ? { "X-Device-Sim": device.sim } : {});
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

const PHONE_REFUSALS = ["password_change_required", "user_disabled", "unknown_device"];

// Answers that concern the whole phone, not one item: revoked → wipe; outdated → update.
function handleGlobal(status, data) {
  if (status === 401 && data && data.wipe) return wipe().then(function () { throw new Halt(); });
  // Another SIM card (or none) than the phone was enrolled with: held until the admin approves it again.
  if (status === 403 && data && data.error === "sim_changed") return Store.setMeta("device_status", "sim_changed").then(function () { emitBanner("sim_changed"); throw new Halt(); });
  // The whole phone refused, not the item (a reset password, a disabled account, a phone the server
  // does not know): the run stops, what waits stays queued, and the officer reads the server's words.
  if ((status === 401 || status === 403) && data && PHONE_REFUSALS.indexOf(data.error) >= 0) {
    emitBanner("phone_refused", data.message);
    return Promise.reject(new Halt());
  }
  if (status === 426) {
    // The Android app below the published minimum updates itself (the wrapper downloads, checks and
    // installs the APK); the web client takes the service worker's new version.
    if (data && data.error === "app_outdated") return updateApp().then(function () { throw new Halt(); });
    return forceUpdate().then(function () { throw new Halt(); });
  }
  return Promise.resolve();
}

function updateApp() {
  if (inWorker()) return Promise.resolve();  // the worker only stops; the page asks the app
  if (self.Bridge && Bridge.kind === "android" && Bridge.installUpdate) {
    emitBanner("updating");
    return Promise.resolve().then(function () { return Bridge.installUpdate(); }).catch(function (e) { console.error(e); });
  }
  return forceUpdate();
}

function wipe() {
  var clearCaches = self.caches ? caches.keys().then(function (keys) { return Promise.all(keys.map(function (k) { return caches.delete(k); })); }) : Promise.resolve();
  if (inWorker()) {
    // No page to send to the login page: the worker wipes, tells any open page (which leaves for
    // the login page as it would have done itself) and unregisters itself. The unregistration is
    // not awaited: Chromium completes it only once the event that asked for it has ended.
    return Promise.all([Store.wipe(), clearCaches]).then(function () { return tellPages({ type: "wiped" }); })
      .then(function () { self.registration.unregister().catch(function (e) { console.error(e); }); });
  }
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
  // The worker fetches its new version (it takes over when a page next starts) and stops the run.
  if (inWorker()) return self.registration.update().catch(function () {});
  emitBanner("updating");
  if (!navigator.serviceWorker) { location.reload(); return new Promise(function () {}); }
  return navigator.serviceWorker.getRegistration("/").then(function (reg) {
    if (!reg) { location.reload(); return new Promise(function () {}); }
    return reg.update().then(function () { return activateWaiting(reg); });
  });
}

let bannerHandler = null;
// ``text``: words from the server, shown instead of the key's own.
function emitBanner(key, text) {
  if (bannerHandler) bannerHandler(key, text);
  tellPages({ type: "banner", key: key, text: text });
}

// Before anything syncs: an outdated client updates first; a merely older one updates next start.
function versionGate() {
  return fetch("/api/v1/version", { cache: "no-store" })
    .then(function (r) { return r.json(); })
    .then(function (v) {
      if (compareVersions(v.min_supported, clientVersion()) > 0) return forceUpdate().then(function () { throw new Halt(); });
      if (compareVersions(v.current, clientVersion()) > 0) {
        if (inWorker()) self.registration.update().catch(function () {});
        else if (navigator.serviceWorker) navigator.serviceWorker.getRegistration("/").then(function (reg) { if (reg) reg.update(); });
      }
    }, function () { /* offline: check again next time */ });
}

// Backoff counts failures in a row: 5 s, 10 s, 20 s … at most 10 minutes between tries.
function backoffMs(attempts) { return Math.min(5000 * Math.pow(2, attempts - 1), 10 * 60 * 1000); }

export function onChange(fn) { listeners.push(fn); }
export function onBanner(fn) { bannerHandler = fn; }

// Asks the browser to wake the service worker ("ddt-sync") when there is signal, so what was just
// queued is sent even if the app is closed by then. A no-op where there is no Background Sync
// (Android WebView: the app's own job wakes the page instead, and the timer and "online" run it).
function requestBackgroundSync() {
  if (inWorker() || !navigator.serviceWorker || !("SyncManager" in self)) return Promise.resolve();
  return navigator.serviceWorker.ready.then(function (reg) { return reg.sync.register("ddt-sync"); }).catch(function () {});
}

export { ApiError, Halt, emit, compareVersions, authHeaders, api, handleGlobal, wipe, activateWaiting, versionGate, backoffMs,
  configure, clientVersion, inWorker, tellPages, requestBackgroundSync };
