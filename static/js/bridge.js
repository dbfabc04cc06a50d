// One adapter for what the phone itself provides: GPS, network type, identity.
// Today it answers from web APIs; the Android wrapper will answer the same calls through its
// origin-locked message channel, so the rest of the app does not change.
(function (global) {
  "use strict";

  function getPosition(options) {
    return new Promise(function (resolve, reject) {
      if (!("geolocation" in navigator)) {
        reject(new Error("geolocation unavailable"));
        return;
      }
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          resolve({
            lat: pos.coords.latitude,
            lon: pos.coords.longitude,
            accuracy_m: Math.round(pos.coords.accuracy),
            at: new Date(pos.timestamp || Date.now()).toISOString(),
            // Only the Android bridge can tell a mock-location app; the web cannot.
            is_mock: false,
          });
        },
        function (err) { reject(new Error(err.message || "position unavailable")); },
        Object.assign({ enableHighAccuracy: true, timeout: 30000, maximumAge: 0 }, options || {})
      );
    });
  }

  // true / false when the browser says (Network Information API), null when it cannot tell.
  function onWifi() {
    var c = navigator.connection;
    if (!c || !c.type) return null;
    return c.type === "wifi" || c.type === "ethernet";
  }

  function identity() {
    return Promise.resolve({ kind: "web", label: (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || "browser", phone_number: "" });
  }

  global.Bridge = { kind: "web", getPosition: getPosition, onWifi: onWifi, identity: identity };
})(self);
