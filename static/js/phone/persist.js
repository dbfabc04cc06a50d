// Keeping captures safe until they are sent: persistent storage, the space left, Background Sync.
import { t } from "./i18n.js";
import { $, banner } from "./ui.js";
import { requestBackgroundSync } from "../sync/core.js";

export function renderStorage() {
  if (!navigator.storage || !navigator.storage.estimate) return;
  navigator.storage.estimate().then((e) => {
    const mb = (x) => Math.round(x / 1048576);
    const free = (e.quota || 0) - (e.usage || 0);
    $("#storage-info").textContent = t("storage", { used: mb(e.usage || 0), quota: mb(e.quota || 0) });
    if (e.quota && free < 50 * 1048576) banner(t("storage_low", { free: mb(free) }), "warning");
  });
}

export function askPersistence() {
  if (!navigator.storage || !navigator.storage.persist) return;
  navigator.storage.persisted().then((yes) => {
    if (yes) return;
    return navigator.storage.persist().then((granted) => {
      if (!granted) $("#storage-info").textContent += " " + t("storage_not_persistent");
    });
  });
}

// Wakes the service worker when there is signal, so a finished application or visit report is
// sent even if the app is closed by then (sw.js). Android WebView has no Background Sync: there the
// app's job wakes the page, and the timer and "online" do the work.
export function registerBackgroundSync() {
  return requestBackgroundSync();
}

// Saves a form's record a quarter second after the last keystroke (soon), at once (now), or not at
// all when the form is left (cancel). ``current()`` is the record on screen, null when none.
export function recordSaver(put, current) {
  let timer = null;
  return {
    soon() {
      clearTimeout(timer);
      const record = current();
      timer = setTimeout(() => put(record), 250);
    },
    now() {
      clearTimeout(timer);
      const record = current();
      return record ? put(record) : Promise.resolve();
    },
    cancel() { clearTimeout(timer); },
  };
}
