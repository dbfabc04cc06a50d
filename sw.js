// Daidaitong service worker, scope "/". Version __CLIENT_VERSION__ (written in by the server).
//
// - The officer's capture app (/m/) and its scripts are precached, so it opens with no signal.
//   A new version precaches everything into a new cache BEFORE it may take over; until then the
//   old worker and cache keep serving, so an update never leaves the capture screens offline.
// - Office pages are network-first with an offline fallback page, and are never cached: no
//   person's data stays in the cache for the next user after logout.
// - Nothing here stores captured data; that lives in IndexedDB (static/js/store.js).
// - The queue drains with the app closed: on Background Sync's "sync" event this worker runs the
//   same sync engine as the page (static/js/sync/), so an application finished offline is sent
//   when signal returns even if the officer has locked the phone. Registered as a module worker
//   (type "module"): the sync engine is ES modules; store.js, bridge.js and the tus client are
//   classic scripts that attach themselves to `self`, imported here for that side effect.
import "./static/vendor/tus-js-client-4.3.1/tus.min.js";
import "./static/js/store.js";
import "./static/js/bridge.js";
import Sync from "./static/js/sync/index.js";

const VERSION = "__CLIENT_VERSION__";
Sync.configure({ version: VERSION });
// The shell's own revision: raised whenever the list below changes, so a phone on the same client
// version still gets a fresh cache without files of the old shell in it.
const SHELL_REVISION = 8;
const CACHE = "ddt-shell-" + VERSION + "-" + SHELL_REVISION;
const SHELL = [
  "/m/",
  "/offline",
  "/manifest.webmanifest",
  "/static/css/app.css",
  "/static/css/mobile.css",
  "/static/js/app.js",
  "/static/js/bridge.js",
  "/static/js/store.js",
  "/static/js/idcard.js",
  "/static/js/photos.js",
  "/static/js/schedule.js",
  // The screens and the sync engine, as ES modules (phone/main.js imports the rest;
  // tests/web/test_pwa_shell.py checks this list against the imports).
  "/static/js/phone/main.js",
  "/static/js/phone/i18n.js",
  "/static/js/phone/ui.js",
  "/static/js/phone/format.js",
  "/static/js/phone/boot.js",
  "/static/js/phone/persist.js",
  "/static/js/phone/geo.js",
  "/static/js/phone/collector.js",
  "/static/js/phone/capture.js",
  "/static/js/phone/tasks.js",
  "/static/js/phone/plan.js",
  "/static/js/phone/visit.js",
  "/static/js/phone/home.js",
  "/static/js/phone/notes.js",
  "/static/js/phone/calculator.js",
  "/static/js/phone/collect.js",
  "/static/js/phone/survey.js",
  "/static/js/phone/groups.js",
  "/static/js/phone/group.js",
  "/static/js/phone/campaign.js",
  "/static/js/sync/index.js",
  "/static/js/sync/core.js",
  "/static/js/sync/applications.js",
  "/static/js/sync/visits.js",
  "/static/js/sync/collections.js",
  "/static/js/sync/surveys.js",
  "/static/js/sync/notices.js",
  "/static/js/sync/trail.js",
  "/static/js/sync/http.js",
  "/static/vendor/htmx-2.0.11/htmx.min.js",
  "/static/vendor/tus-js-client-4.3.1/tus.min.js",
  "/static/icons/icon-192.png",
  "/static/icons/icon-512.png",
];

self.addEventListener("install", (event) => {
  // cache: "reload" bypasses the HTTP cache, so the new version really gets new files.
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("ddt-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

// The page decides when a waiting update takes over: at app start, or at once when the server
// says this version is no longer supported.
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
});

// Background Sync ("ddt-sync", registered whenever something is queued): the browser wakes this
// worker when there is signal, even with every page of the app closed.
// - The capture app open and visible on screen: it runs the queue itself (its run shows each
//   chunk's progress) and answers when done; without an answer within PAGE_ANSWER_MS the worker
//   runs the queue itself.
// - Otherwise (no page, or only hidden ones: a locked phone's page may be frozen) the worker runs it. Either way the Web Lock "ddt-sync" (sync/index.js) lets only one
//   run go at a time, so a late page run or a second wake finds the work done and sends nothing twice.
// - Something still waiting afterwards (no signal after all, a server error) fails the event, so
//   the browser wakes the worker again later; the open page's timer keeps trying as well.
const PAGE_ANSWER_MS = 15000;

function askVisiblePage() {
  return self.clients.matchAll({ type: "window" }).then((pages) => {
    const page = pages.find((p) => p.visibilityState === "visible" && new URL(p.url).pathname === "/m/");
    if (!page) return false;
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      const timer = setTimeout(() => resolve(false), PAGE_ANSWER_MS);
      channel.port1.onmessage = () => { clearTimeout(timer); resolve(true); };
      page.postMessage({ type: "sync" }, [channel.port2]);
    });
  });
}

function drain(lastChance) {
  return askVisiblePage()
    .then((pageRan) => (pageRan ? null : Sync.run({ fresh: true })))
    .then(() => Sync.pending().catch(() => 0))  // a wiped phone has nothing left
    .then((left) => {
      if (left && !lastChance) throw new Error(left + " item(s) still waiting to be sent");
    });
}

self.addEventListener("sync", (event) => {
  if (event.tag !== "ddt-sync") return;
  event.waitUntil(drain(event.lastChance));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (url.pathname === "/m/" || url.pathname === "/m") {
    // The capture app: from the cache of this version (offline first).
    event.respondWith(caches.open(CACHE).then((cache) => cache.match("/m/")).then((hit) => hit || fetch(request)));
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.open(CACHE).then((cache) => cache.match("/offline"))));
    return;
  }
  if (SHELL.includes(url.pathname)) {
    event.respondWith(caches.open(CACHE).then((cache) => cache.match(url.pathname)).then((hit) => hit || fetch(request)));
  }
});
