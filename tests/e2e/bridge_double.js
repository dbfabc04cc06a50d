// A test double of the officer's Android app, speaking the bridge protocol (android_wrapper/PROTOCOL.md)
// from the app's side, for Playwright (page.add_init_script / context.add_init_script).
//
// It answers with the example messages of android_wrapper/protocol/examples/, which the Python test
// reads and hands over as ``self.__bridgeDoubleExamples`` (file name without ".json" -> message) in an
// init script before this one: a reply is the example with the request's id put in. Like the app,
// after every page load it posts a ``hello`` with one MessageChannel port to the top frame only, and
// then talks over that port only. ``self.__bridgeDoubleSetup`` (optional) is its state on a fresh phone. Its state (which example answers what, the trail points it holds,
// what it was asked) lives in localStorage, so it survives the page's own navigations and reloads.
//
// The test steers it through ``BridgeDouble`` (page.evaluate):
//   answer(type, exampleName)   which example answers a request type (e.g. "identity", "reply-identity-other-sim")
//   holdPoints(points)          trail points the app "stored" (trail.take hands out those not yet acknowledged)
//   loseAcks(n)                 the next n trail.ack requests get lost (no answer, points kept)
//   fire(exampleName, data?)    sends an event (the example's, or with other data)
//   post(raw)                   sends anything over the port (a malformed message)
//   requests(type?)             what the page asked, in order
//   sayHello()                  posts the hello now (with holdHello(true) set before the load)
(function () {
  "use strict";
  if (window.top !== window) return;  // the app offers its port to the main frame only
  var examples = self.__bridgeDoubleExamples;
  if (!examples) throw new Error("bridge double: no example messages given");
  var KEY = "bridge-double";
  var DEFAULTS = {
    identity: "reply-identity-full", location: "reply-location", network: "reply-network-wifi",
    version: "reply-version", "trail.start": "reply-trail-start", "trail.stop": "reply-trail-stop",
    "trail.take": "reply-trail-take", "trail.ack": "reply-trail-ack", "update.check": "reply-update-check",
    "update.install": "reply-update-install", "sync.done": "reply-sync-done",
  };

  function load() {
    var s = null;
    try { s = JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { s = null; }
    // A fresh phone starts with what the test set up (``self.__bridgeDoubleSetup``: answers, holdHello).
    return s || Object.assign({ answers: {}, points: [], acked: [], loseAcks: 0, log: [], holdHello: false },
                              copy(self.__bridgeDoubleSetup || {}));
  }
  function save(s) { localStorage.setItem(KEY, JSON.stringify(s)); }
  function copy(x) { return JSON.parse(JSON.stringify(x)); }

  var port = null;

  function send(message) { port.postMessage(typeof message === "string" ? message : JSON.stringify(message)); }

  function reply(example, id, result) {
    var m = copy(examples[example]);
    if (!m) throw new Error("bridge double: no example " + example);
    m.id = id;
    if (result !== undefined) m.result = result;
    return m;
  }

  function onRequest(e) {
    var req;
    try { req = JSON.parse(e.data); } catch (err) { send(examples["reply-error-bad-message"]); return; }
    var s = load();
    s.log.push({ type: req.type, args: req.args || null });
    var name = s.answers[req.type] || DEFAULTS[req.type];
    var out;
    if (!name) {
      out = reply("reply-error-unknown-type", req.id);
      out.error.message = "unknown message type: " + req.type;
    } else if (req.type === "trail.take") {
      // Like the app's store: the oldest points not yet acknowledged, as many as asked.
      var max = (req.args && req.args.max) || 500;
      var open = s.points.filter(function (p) { return s.acked.indexOf(p.uuid) < 0; }).slice(0, max);
      out = reply(name, req.id, { points: open });
    } else if (req.type === "trail.ack") {
      var entry = s.log.length - 1;
      save(s);
      // What the page's queue (IndexedDB) holds when the acknowledgement arrives: every point must be in it.
      Store.getMeta("trail").then(function (queue) {
        var kept = {};
        (queue || []).forEach(function (p) { kept[p.uuid] = true; });
        var st = load();
        st.log[entry].all_queued = (req.args.uuids || []).every(function (u) { return kept[u]; });
        if (st.loseAcks > 0) {  // lost on the way: the app never hears of it and keeps the points
          st.loseAcks -= 1;
          save(st);
          return;
        }
        var removed = 0;
        (req.args.uuids || []).forEach(function (u) {
          if (st.acked.indexOf(u) < 0 && st.points.some(function (p) { return p.uuid === u; })) { st.acked.push(u); removed += 1; }
        });
        save(st);
        send(reply(name, req.id, { removed: removed }));
      });
      return;
    } else {
      out = reply(name, req.id);
    }
    save(s);
    send(out);
  }

  function sayHello() {
    if (port) return;
    var channel = new MessageChannel();
    port = channel.port1;
    port.onmessage = onRequest;
    // The app: WebView.postWebMessage(hello, serverOrigin) with the port, after the page has loaded.
    window.postMessage(JSON.stringify(examples.hello), location.origin, [channel.port2]);
  }

  self.BridgeDouble = {
    examples: examples,
    answer: function (type, example) { var s = load(); s.answers[type] = example; save(s); },
    holdPoints: function (points) { var s = load(); s.points = s.points.concat(points); save(s); },
    loseAcks: function (n) { var s = load(); s.loseAcks = n; save(s); },
    holdHello: function (on) { var s = load(); s.holdHello = !!on; save(s); },
    fire: function (example, data) {
      var m = copy(examples[example]);
      if (data !== undefined) m.data = data;
      send(m);
    },
    post: function (raw) { send(raw); },
    requests: function (type) { return load().log.filter(function (r) { return !type || r.type === type; }); },
    held: function () { var s = load(); return s.points.filter(function (p) { return s.acked.indexOf(p.uuid) < 0; }); },
    sayHello: sayHello,
    get connected() { return port !== null; },
  };

  window.addEventListener("load", function () { if (!load().holdHello) sayHello(); });
})();
