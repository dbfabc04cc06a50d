// Redeem a one-time enrolment code: the server binds this phone to the logged-in officer and
// returns the device token once; it is kept in IndexedDB and sent with every /api/v1 call.
// When the officer already holds as many active phones as allowed, the server names the phone this
// one would replace (409 replace_needed); only after he confirms is it sent again with replace=true.
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
    return Bridge.identity().then(function (id) {
      return fetch("/m/enrol", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({
          code: form.elements.code.value, label: form.elements.label.value || id.label,
          phone_number: id.phone_number, replaces: form.elements.replaces.value, replace: replace,
        }),
      });
    }).then(function (resp) {
      return resp.json().then(function (data) {
        if (resp.status === 409 && data.error === "replace_needed") {
          document.getElementById("enrol-confirm-text").textContent = data.message;
          confirmBox.hidden = false;
          return null;
        }
        if (!resp.ok) throw new Error(data.message || resp.statusText);
        return Store.setMeta("device", { uuid: data.device_uuid, token: data.token, enrolled_at: new Date().toISOString() })
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
