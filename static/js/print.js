// Print buttons: <button data-print> prints the page (no inline onclick: the CSP allows no inline script).
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-print]") : null;
  if (button) window.print();
});
