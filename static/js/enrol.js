// Redeem a one-time enrolment code: the server binds this phone to the logged-in officer and
// returns the device token once; it is kept in IndexedDB and sent with every /api/v1 call.
(function () {
  "use strict";
  var form = document.getElementById("enrol-form");
  var result = document.getElementById("enrol-result");
  var csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    result.textContent = "";
    Bridge.identity().then(function (id) {
      return fetch("/m/enrol", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ code: form.elements.code.value, label: form.elements.label.value || id.label, phone_number: id.phone_number }),
      });
    }).then(function (resp) {
      return resp.json().then(function (data) {
        if (!resp.ok) throw new Error(data.message || resp.statusText);
        return Store.setMeta("device", { uuid: data.device_uuid, token: data.token, enrolled_at: new Date().toISOString() })
          .then(function () { return Store.deleteMeta("bootstrap"); });
      });
    }).then(function () {
      location.href = "/m/?enrolled=1";
    }).catch(function (err) {
      result.className = "flash flash-error";
      result.textContent = err.message;
    });
  });
})();
