// One adapter for what the phone itself provides: GPS, network type, identity, the background
// trail, the app's version and updates. Inside the Android app (android_wrapper/; its user agent
// ends in " DaidaitongAndroid/<code>") it answers through the app's origin-locked message channel,
// as android_wrapper/PROTOCOL.md defines it; in a plain browser (and in the service worker, which
// imports this file) it answers from web APIs, as it always did. The rest of the app calls the
// same functions either way.
//
// A classic script on ``self``: nothing here touches window or document at load time unless it
// runs in a page, so the service worker can import it (there it is always "web").
(function (global) {
  "use strict";

  var UA_MARK = " DaidaitongAndroid/";
  // The app posts its hello when the page has loaded (onPageFinished); a page that has no bridge
  // after this long (an old app, a page opened some other way) carries on with web APIs.
  var HELLO_WAIT_MS = 5000;
  var REQUEST_TIMEOUT_MS = 10000;
  var MAX_MESSAGE_CHARS = 65536;
  var ID = /^[A-Za-z0-9_.:-]{1,64}$/;
  var UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
  var HOURS = /^\d\d:\d\d-\d\d:\d\d$/;
  var EVENTS = ["network_changed", "sim_changed", "trail_points", "sync_wake"];

  var isPage = typeof global.document !== "undefined" && typeof global.window !== "undefined" && global.window === global;
  var inApp = isPage && typeof navigator !== "undefined" && String(navigator.userAgent || "").indexOf(UA_MARK) >= 0;

  var state = inApp ? "waiting" : "web";  // waiting -> android | web
  var port = null;
  var app = null;           // the hello's app {package, version_code, version_name}
  var pending = {};         // request id -> {type, resolve, reject, timer}
  var seq = 0;
  var network = null;       // the last network state the app told (result of `network` / network_changed)
  var lastIdentity = null;  // the last identity result, for simHeader()
  var listeners = {};
  var readyResolve;
  var readyPromise = new Promise(function (resolve) { readyResolve = resolve; });

  function log(text) { try { console.warn("bridge: " + text); } catch (e) { /* no console */ } }

  function isObject(x) { return x !== null && typeof x === "object" && !Array.isArray(x); }
  function isNum(x) { return typeof x === "number" && isFinite(x); }
  function isStr(x) { return typeof x === "string"; }
  function isStrOrNull(x) { return x === null || typeof x === "string"; }
  function isBool(x) { return typeof x === "boolean"; }

  // --- checking what the app says -------------------------------------------------------------

  // One message from the app as a parsed object, or null (with why) when it is not JSON text or an object.
  function parse(data) {
    if (isStr(data)) {
      if (data.length > MAX_MESSAGE_CHARS) return { error: "message too long" };
      try { data = JSON.parse(data); } catch (e) { return { error: "not JSON" }; }
    }
    if (!isObject(data)) return { error: "not a JSON object" };
    return { message: data };
  }

  function validHello(m) {
    return isObject(m) && m.v === 1 && m.type === "hello" && isObject(m.app) && isStr(m.app.package) &&
      Number.isInteger(m.app.version_code) && isStr(m.app.version_name);
  }

  function validPoint(p) {
    return isObject(p) && isStr(p.uuid) && UUID.test(p.uuid) && isStr(p.at) && !isNaN(Date.parse(p.at)) &&
      isNum(p.lat) && p.lat >= -90 && p.lat <= 90 && isNum(p.lon) && p.lon >= -180 && p.lon <= 180 &&
      (p.accuracy_m === null || isNum(p.accuracy_m)) && isBool(p.is_mock);
  }

  function validSim(s) {
    return isObject(s) && isBool(s.present) && isStr(s.state) && isStrOrNull(s.operator) && isStrOrNull(s.imsi) &&
      isStrOrNull(s.serial) && isStrOrNull(s.line_number) && (s.subscription_id === null || Number.isInteger(s.subscription_id)) &&
      isBool(s.changed);
  }

  function validIdentity(r) {
    return isObject(r) && isStr(r.installation_id) && validSim(r.sim) && Array.isArray(r.restricted) &&
      r.restricted.every(function (x) { return isObject(x) && isStr(x.field) && isStr(x.reason); });
  }

  function validNetwork(r) {
    return isObject(r) && ["wifi", "cellular", "ethernet", "other", "none"].indexOf(r.type) >= 0 && isBool(r.metered) && isBool(r.connected);
  }

  // What each request's result must hold (the fields the page reads); a result that does not is refused.
  var RESULTS = {
    identity: validIdentity,
    location: function (r) {
      return isObject(r) && isNum(r.lat) && r.lat >= -90 && r.lat <= 90 && isNum(r.lon) && r.lon >= -180 && r.lon <= 180 &&
        isNum(r.accuracy_m) && isStr(r.at) && !isNaN(Date.parse(r.at)) && isBool(r.is_mock);
    },
    network: validNetwork,
    version: function (r) { return isObject(r) && isStr(r.package) && Number.isInteger(r.version_code) && isStr(r.version_name); },
    "trail.start": function (r) { return isObject(r) && isBool(r.running); },
    "trail.stop": function (r) { return isObject(r) && r.running === false; },
    "trail.take": function (r) { return isObject(r) && Array.isArray(r.points) && r.points.every(validPoint); },
    "trail.ack": function (r) { return isObject(r) && Number.isInteger(r.removed); },
    "update.check": function (r) { return isObject(r) && Number.isInteger(r.current) && isStr(r.state); },
    "update.install": function (r) { return isObject(r) && isStr(r.state); },
    "sync.done": isObject,
  };

  var EVENT_DATA = {
    network_changed: validNetwork,
    sim_changed: validIdentity,
    trail_points: function (d) { return isObject(d) && Number.isInteger(d.waiting); },
    sync_wake: function (d) { return isObject(d) && isStr(d.reason); },
  };

  // {kind: "hello" | "reply" | "event", message} for a well-formed message, else {error}.
  function classify(data) {
    var p = parse(data);
    if (p.error) return p;
    var m = p.message;
    if (m.v !== 1) return { error: "not protocol version 1" };
    if (m.type === "hello") return validHello(m) ? { kind: "hello", message: m } : { error: "malformed hello" };
    if (m.type === "event") {
      if (EVENTS.indexOf(m.event) < 0) return { error: "unknown event " + String(m.event).slice(0, 40) };
      if (!EVENT_DATA[m.event](m.data)) return { error: "malformed " + m.event + " data" };
      return { kind: "event", message: m };
    }
    if (m.type !== undefined) return { error: "unexpected message type " + String(m.type).slice(0, 40) };
    if (!(m.id === null || (isStr(m.id) && ID.test(m.id)))) return { error: "reply without a valid id" };
    if (m.ok === true) return isObject(m.result) && m.error === undefined ? { kind: "reply", message: m } : { error: "reply without a result" };
    if (m.ok === false) {
      return isObject(m.error) && isStr(m.error.code) && isStr(m.error.message) && m.result === undefined
        ? { kind: "reply", message: m } : { error: "error reply without code and message" };
    }
    return { error: "reply without ok" };
  }

  // A reply to ``type`` as the page will use it: null when well-formed, else why not.
  function checkReply(type, data) {
    var c = classify(data);
    if (c.error) return c.error;
    if (c.kind !== "reply") return "not a reply";
    if (c.message.ok && RESULTS[type] && !RESULTS[type](c.message.result)) return "malformed " + type + " result";
    return null;
  }

  // --- the channel ----------------------------------------------------------------------------

  function fallBack(why) {
    if (state !== "waiting") return;
    state = "web";
    log(why + "; using the browser's own APIs");
    readyResolve();
  }

  function onWindowMessage(e) {
    if (state !== "waiting") return;
    // Only the app (source null) or this page's own window may say hello, never a frame.
    if (!(e.source === null || e.source === global)) return;
    var c = classify(e.data);
    if (c.kind !== "hello") return;  // page messages of other kinds are none of the bridge's business
    if (!e.ports || e.ports.length !== 1) { log("ignored a hello without exactly one port"); return; }
    global.removeEventListener("message", onWindowMessage);
    app = c.message.app;
    port = e.ports[0];
    port.onmessage = onPortMessage;
    state = "android";
    // Before anything calls the server: the network type for "Wi-Fi only" and the SIM identity
    // the next API call must carry (a SIM exchanged while the app was closed shows up here).
    Promise.all([
      request("network").then(function (r) { network = r; }, function () {}),
      request("identity").then(storeIdentity, function () {}),
    ]).then(function () { readyResolve(); });
  }

  function onPortMessage(e) {
    var c = classify(e.data);
    if (c.error) { log("ignored a message: " + c.error); return; }
    var m = c.message;
    if (c.kind === "hello") { log("ignored a second hello"); return; }
    if (c.kind === "event") { handleEvent(m.event, m.data); return; }
    var waiting = m.id !== null && Object.prototype.hasOwnProperty.call(pending, m.id) ? pending[m.id] : null;
    if (!waiting) {
      log(m.ok ? "ignored a reply to no open request (" + m.id + ")" : "the app refused a message: " + m.error.code + " " + m.error.message);
      return;
    }
    if (m.ok && RESULTS[waiting.type] && !RESULTS[waiting.type](m.result)) {
      log("ignored a malformed " + waiting.type + " result");
      return;  // the request runs into its timeout
    }
    delete pending[m.id];
    clearTimeout(waiting.timer);
    if (m.ok) waiting.resolve(m.result);
    else {
      var err = new Error(m.error.message);
      err.code = m.error.code;
      waiting.reject(err);
    }
  }

  function request(type, args, timeoutMs) {
    if (state !== "android") return Promise.reject(new Error("no bridge"));
    return new Promise(function (resolve, reject) {
      var id = "p" + (++seq);
      var message = { v: 1, id: id, type: type };
      if (args) message.args = args;
      pending[id] = {
        type: type, resolve: resolve, reject: reject,
        timer: setTimeout(function () {
          delete pending[id];
          log(type + " request " + id + " got no answer");
          var err = new Error("no answer from the app");
          err.code = "timeout";
          reject(err);
        }, timeoutMs || REQUEST_TIMEOUT_MS),
      };
      port.postMessage(JSON.stringify(message));
    });
  }

  function emit(name, data) {
    (listeners[name] || []).slice().forEach(function (fn) {
      try { fn(data); } catch (e) { console.error(e); }
    });
  }

  function handleEvent(name, data) {
    if (name === "network_changed") network = data;
    if (name === "sim_changed") {
      // The next API call carries the new identity, and the server refuses it until the admin
      // approves the phone again: a phone with another SIM card is not the enrolled phone.
      storeIdentity(data).then(function () { emit(name, data); });
      return;
    }
    if (name === "sync_wake") {
      var run = global.Sync && global.Sync.run ? global.Sync.run({ fresh: true }) : Promise.resolve();
      Promise.resolve(run).then(function () { return true; }, function () { return false; }).then(function (ok) {
        return request("sync.done", { ok: ok }).catch(function () {});
      });
    }
    emit(name, data);
  }

  // --- identity and the SIM -------------------------------------------------------------------

  // The compact JSON PROTOCOL.md defines for the X-Device-Sim header and the enrolment, ASCII only.
  function simOf(r) {
    if (!r) return null;
    return { v: 1, present: r.sim.present, imsi: r.sim.imsi, serial: r.sim.serial, subscription_id: r.sim.subscription_id,
             operator: r.sim.operator, installation_id: r.installation_id };
  }

  function simText(sim) {
    if (!sim) return "";
    return JSON.stringify(sim).replace(/[\u007f-\uffff]/g, function (ch) { return "\\u" + ("000" + ch.charCodeAt(0).toString(16)).slice(-4); });
  }

  // Keeps the identity and, on an enrolled phone, the SIM the device meta sends to the server.
  function storeIdentity(r) {
    lastIdentity = r;
    var store = global.Store;
    if (!store) return Promise.resolve();
    var text = simText(simOf(r));
    return store.getMeta("device").then(function (device) {
      if (!device || device.sim === text) return;
      device.sim = text;
      return store.setMeta("device", device);
    }).catch(function (e) { log("could not keep the SIM identity: " + e.message); });
  }

  function identity() {
    return readyPromise.then(function () {
      if (state !== "android") {
        return { kind: "web", label: (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || "browser",
                 phone_number: "", sim: null, sim_header: "" };
      }
      return request("identity").then(function (r) {
        lastIdentity = r;
        var sim = simOf(r);
        return { kind: "android", label: (r.android && r.android.model) || "Android", phone_number: r.sim.line_number || "",
                 sim: sim, sim_header: simText(sim), restricted: r.restricted };
      });
    });
  }

  function simHeader() { return state === "android" ? simText(simOf(lastIdentity)) : ""; }

  // --- position and network -------------------------------------------------------------------

  function clamp(x, lo, hi, dflt) { x = Math.round(Number(x)); return isFinite(x) ? Math.min(hi, Math.max(lo, x)) : dflt; }

  function webPosition(options) {
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
            provider: "browser",
          });
        },
        function (err) { reject(new Error(err.message || "position unavailable")); },
        Object.assign({ enableHighAccuracy: true, timeout: 30000, maximumAge: 0 }, options || {})
      );
    });
  }

  function getPosition(options) {
    options = options || {};
    return readyPromise.then(function () {
      if (state !== "android") return webPosition(options);
      var timeout = clamp(options.timeout, 1000, 120000, 30000);
      return request("location", { timeout_ms: timeout, max_age_ms: clamp(options.maximumAge, 0, 600000, 0) }, timeout + 5000)
        .then(function (r) {
          return { lat: r.lat, lon: r.lon, accuracy_m: Math.round(r.accuracy_m), at: r.at, is_mock: r.is_mock === true,
                   provider: isStr(r.provider) ? r.provider : null };
        });
    });
  }

  // true / false when the app (or the browser's Network Information API) says, null when it cannot tell.
  function onWifi() {
    if (state === "android") return network ? network.type === "wifi" || network.type === "ethernet" : null;
    var c = typeof navigator !== "undefined" && navigator.connection;
    if (!c || !c.type) return null;
    return c.type === "wifi" || c.type === "ethernet";
  }

  // --- the background trail, version and updates (the app only) ------------------------------

  function trailStart(settings) {
    return readyPromise.then(function () {
      if (state !== "android") return null;
      settings = settings || {};
      var args = { interval_min: clamp(settings.trail_interval_min, 1, 120, 5) };
      var hours = settings.trail_hours;
      // "24:00" is how the server writes the end of the day; the app reads clock times.
      if (isStr(hours) && HOURS.test(hours)) args.hours = hours.replace(/24:00$/, "23:59");
      return request("trail.start", args);
    });
  }

  function trailStop() {
    return readyPromise.then(function () { return state === "android" ? request("trail.stop") : null; });
  }

  // The oldest points the app holds and the page has not acknowledged (none in a browser).
  function trailTake(max) {
    return readyPromise.then(function () {
      if (state !== "android") return [];
      return request("trail.take", { max: clamp(max, 1, 1000, 500) }).then(function (r) { return r.points; });
    });
  }

  // Only after the points are durably in the page's queue: the app then deletes them.
  function trailAck(uuids) {
    return readyPromise.then(function () {
      if (state !== "android" || !uuids || !uuids.length) return 0;
      return request("trail.ack", { uuids: uuids.slice(0, 1000) }).then(function (r) { return r.removed; });
    });
  }

  function version() {
    return readyPromise.then(function () { return state === "android" ? request("version") : null; });
  }

  function checkUpdate() {
    return readyPromise.then(function () { return state === "android" ? request("update.check") : null; });
  }

  function installUpdate() {
    return readyPromise.then(function () {
      return state === "android" ? request("update.install").then(function (r) { return r.state; }) : null;
    });
  }

  function onEvent(name, fn) {
    (listeners[name] = listeners[name] || []).push(fn);
    return function () { listeners[name] = listeners[name].filter(function (f) { return f !== fn; }); };
  }

  if (state === "waiting") {
    global.addEventListener("message", onWindowMessage);
    var startWait = function () { setTimeout(function () { fallBack("no bridge from the app"); }, HELLO_WAIT_MS); };
    if (global.document.readyState === "complete") startWait();
    else global.addEventListener("load", startWait, { once: true });
  } else {
    readyResolve();
  }

  global.Bridge = {
    // "android" while the app's bridge answers (or is awaited: read it after ready()), else "web".
    get kind() { return state === "web" ? "web" : "android"; },
    get app() { return app; },
    ready: function () { return readyPromise; },
    getPosition: getPosition, onWifi: onWifi, identity: identity, simHeader: simHeader,
    trailStart: trailStart, trailStop: trailStop, trailTake: trailTake, trailAck: trailAck,
    version: version, checkUpdate: checkUpdate, installUpdate: installUpdate, onEvent: onEvent,
    // For the tests: the checks every message from the app goes through.
    classify: classify, checkReply: checkReply,
  };
})(self);
