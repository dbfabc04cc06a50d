// Redeem a one-time enrolment code: the server binds this phone to the logged-in officer and
// returns the device token once; it is kept in IndexedDB and sent with every /api/v1 call.
// When the officer already holds as many active phones as allowed, the server names the phone this
// one would replace (409 replace_needed); only after he confirms is it sent again with replace=true.
// In the Android app the phone also reports its SIM identity (bridge.js; android_wrapper/PROTOCOL.md):
// the server binds the device to it, and the phone sends the same identity with every API call.
(function () {
  "use strict";
  var form = document.getElementById("enrol-form");
  var result = document.getElementById("enrol-result");
  var confirmBox = document.getElementById("enrol-confirm");
  var csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];

  function enrol(replace) {
    result.textContent = "";
    result.className = "";
    confirmBox.hidden = true;
    var sim = "";
    return Bridge.identity().then(function (id) {
      sim = id.sim_header || "";
      var body = {
        code: form.elements.code.value, label: form.elements.label.value || id.label,
        phone_number: id.phone_number, replaces: form.elements.replaces.value, replace: replace,
      };
      if (id.sim) body.sim = id.sim;  // the compact object; a plain browser is not bound to a SIM
      return fetch("/m/enrol", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body),
      });
    }).then(function (resp) {
      return resp.json().then(function (data) {
        if (resp.status === 409 && data.error === "replace_needed") {
          document.getElementById("enrol-confirm-text").textContent = data.message;
          confirmBox.hidden = false;
          return null;
        }
        if (!resp.ok) throw new Error(data.message || resp.statusText);
        var device = { uuid: data.device_uuid, token: data.token, enrolled_at: new Date().toISOString() };
        if (sim) device.sim = sim;  // sent as X-Device-Sim with every API call (sync/core.js)
        return Store.setMeta("device", device)
          .then(function () { return Store.deleteMeta("bootstrap"); })
          .then(function () { location.href = "/m/?enrolled=1"; });
      });
    }).catch(function (err) {
      result.className = "flash flash-error";
      result.textContent = err.message;
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    enrol(false);
  });
  document.getElementById("enrol-replace").addEventListener("click", function () { enrol(true); });
  document.getElementById("enrol-cancel").addEventListener("click", function () { confirmBox.hidden = true; });
})();
