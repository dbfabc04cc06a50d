// THE one helper for building markup from data in JavaScript. Prefer textContent; where a library
// takes an HTML string (Leaflet's bindTooltip / bindPopup, insertAdjacentHTML), pass every piece of
// data through Esc.html first. Loaded before the scripts that use it.
"use strict";
var Esc = (function () {
  var MAP = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };
  function html(value) {
    return String(value == null ? "" : value).replace(/[&<>"'`]/g, function (c) { return MAP[c]; });
  }
  return { html: html };
})();
