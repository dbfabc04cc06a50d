// The officer's capture app starts here: which view to open (unsupported browser, phone not
// enrolled, home), the service worker, and when to sync. Works offline: every screen reads and
// writes IndexedDB (store.js); the sync engine (sync/index.js) sends what waits when there is signal.
import Sync from "../sync/index.js";
import { t } from "./i18n.js";
import { $, show, banner, setHomeRenderer } from "./ui.js";
import { boot, setBoot } from "./boot.js";
import { renderStorage } from "./persist.js";
import { renderHome, renderNet, renderDeviceStatus } from "./home.js";
import { newDraft, wireCapture, editingDraft } from "./capture.js";
import { wireVisit, editingReport } from "./visit.js";
import { wireCollect, editingCollection } from "./collect.js";
import { locateMe } from "./plan.js";
import { wireNotes } from "./notes.js";
import { wireCalculator } from "./calculator.js";
import { wireGroup, editingGroup } from "./group.js";
import { editingSurvey } from "./campaign.js";

setHomeRenderer(renderHome);

function showUser(user) {
  if (user) $("#who").textContent = t("logged_in_as", { name: user.name, office: user.office });
}

let refreshing = null;  // one refresh at a time: coming back to the app twice asks once

function refreshFromServer() {
  if (!navigator.onLine) return Promise.resolve();
  if (!refreshing) refreshing = fetchDeviceAndBootstrap().then(() => { refreshing = null; });
  return refreshing;
}

// Who the officer is, the phone's status, and the bootstrap (loan types, his borrowers, settings).
function fetchDeviceAndBootstrap() {
  return Sync.versionGate()
    .then(() => Sync.api("GET", "/api/v1/device"))
    .then((dev) => {
      showUser(dev.user);
      renderDeviceStatus(dev.status);
      return Promise.all([Store.setMeta("user", dev.user), Store.setMeta("device_status", dev.status)]);
    })
    .then(() => Sync.api("GET", "/api/v1/bootstrap"))
    .then((data) => { setBoot(data); return Store.setMeta("bootstrap", data); })
    .catch((err) => {
      if (err && err.status && err.status !== 0 && err.body && err.body.message) banner(err.body.message, "error");
    });
}

// A word from the sync engine (sync/core.js): an update under way, or the server holding the phone.
function showBanner(key, text) {
  if (key === "sim_changed") renderDeviceStatus(key);
  banner(text || t(key), key === "sim_changed" || key === "phone_refused" ? "error" : "info");
}

function redraw() {
  if (!editingDraft() && !editingReport() && !editingCollection() && !editingGroup() && !editingSurvey()) renderHome();
}

// The worker is a module worker: it runs the same sync engine on Background Sync with the app
// closed (sw.js). A phone that still has the classic worker gets this one as an update.
function registerWorker() {
  if (!navigator.serviceWorker) return;
  navigator.serviceWorker.register("/sw.js", { type: "module", scope: "/" }).then((reg) => {
    // An update that arrived last time takes over now, at start, before any work begins.
    if (reg.waiting && navigator.serviceWorker.controller) Sync.activateWaiting(reg);
  }).catch(() => {});
  navigator.serviceWorker.addEventListener("message", (e) => {
    const msg = e.data || {};
    // Woken by Background Sync while on screen: this page runs the queue (with its progress) and
    // tells the worker when it is done.
    if (msg.type === "sync") Sync.run({ fresh: true }).then(() => { if (e.ports[0]) e.ports[0].postMessage({ type: "done" }); });
    // The worker's run changed the queue, has news, or wiped the revoked phone.
    else if (msg.type === "changed") redraw();
    else if (msg.type === "banner") showBanner(msg.key, msg.text);
    else if (msg.type === "wiped") location.replace("/login?wiped=1");
  });
}

function open() {
  return Store.available().then((ok) => {
    if (!ok) { show("view-unsupported"); return; }
    return Store.getMeta("device").then((device) => {
      if (!device) { show("view-unenrolled"); return; }
      return Promise.all([Store.getMeta("bootstrap"), Store.getMeta("user"), Store.getMeta("wifi_only"), Store.getMeta("device_status")]).then(([data, user, wifiOnly, status]) => {
        setBoot(data);
        renderDeviceStatus(status);
        showUser(user);
        $("#wifi-only").checked = !!wifiOnly;
        const ready = data ? Promise.resolve() : refreshFromServer();
        return ready.then(() => {
          show("view-home");
          renderStorage();
          renderHome();
          // A first start just fetched the bootstrap above; then the first sync of the session.
          if (boot.data) refreshFromServer().then(() => Sync.run({ fresh: true }));
        });
      });
    });
  });
}

function wire() {
  wireCapture();
  wireVisit();
  wireCollect();
  wireNotes();
  wireCalculator(() => !!boot.data);
  wireGroup();
  $("#new-application").addEventListener("click", () => { if (boot.data) newDraft(); });
  $("#locate-me").addEventListener("click", locateMe);
  $("#send-now").addEventListener("click", () => Sync.run({ sendNow: true }));
  $("#wifi-only").addEventListener("change", (e) => Store.setMeta("wifi_only", e.target.checked));
  Sync.onBanner(showBanner);
  // The Android app (bridge.js): another SIM card is put to the server at once (which holds the
  // phone until the admin approves it again); Wi-Fi regained sends the photos held for it.
  Bridge.onEvent("sim_changed", () => refreshFromServer());
  Bridge.onEvent("network_changed", (net) => { if (net.connected) Sync.run({ fresh: true }); });
  Sync.onChange(redraw);
  window.addEventListener("online", () => { renderNet(); Sync.run({ fresh: true }); });
  window.addEventListener("offline", renderNet);
  // Back in front (the officer switches to the app again): like opening it, the bootstrap (a
  // borrower registered meanwhile, a changed loan type) and the plan are renewed, and what waits is sent.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && boot.data) refreshFromServer().then(() => Sync.run({ fresh: true }));
  });
}

renderNet();
registerWorker();
// Inside the Android app, after its bridge has said hello (and the SIM the calls carry is current).
Bridge.ready().then(open);
wire();
// A run a minute while the app is open: sends what is due and renews a plan older than five
// minutes (sync/visits.js). Offline a run does nothing; a run never starts while one is under way.
setInterval(() => Sync.run(), 60000);
// The GPS trail: a tick a minute; Sync.sampleTrail keeps to TRAIL_INTERVAL_MIN between positions.
Sync.sampleTrail();
setInterval(() => Sync.sampleTrail(), 60000);
if (new URLSearchParams(location.search).get("enrolled")) banner(t("enrolled_ok"), "success");
