// Registers the service worker; everything else is server-rendered HTML swapped by htmx.
"use strict";
if ("serviceWorker" in navigator) {
  window.addEventListener("load", function () {
    // A module worker (it imports the phone's sync engine); the same type as the phone app's
    // registration, or each page would replace the other's worker.
    navigator.serviceWorker.register("/sw.js", { type: "module", scope: "/" }).catch(function (err) {
      console.warn("service worker registration failed", err);
    });
  });
}
// A 4xx/5xx answer to an htmx request still shows the server's message (htmx ignores them by default);
// 503: the photo store or the database is not there just now (app/web/errors.py).
document.addEventListener("htmx:beforeSwap", function (evt) {
  var status = evt.detail.xhr.status;
  if (status === 422 || status === 400 || status === 403 || status === 404 || status === 409 || status === 503) {
    evt.detail.shouldSwap = true;
    evt.detail.isError = false;
  }
});
