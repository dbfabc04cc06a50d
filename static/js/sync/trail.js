// The GPS trail, kept until the server confirms. In a browser the page samples it while the app is
// open in working hours. In the Android app the app's foreground service samples it, also with the
// screen off (android_wrapper/PROTOCOL.md): the page starts the service with the server's settings,
// and each run takes the points the app holds into this same queue, keeps them durably, and only
// then lets the app delete them. A point taken twice (an acknowledgement lost) has the same UUID
// both times: the queue keeps it once, and so does the server.
import { Halt, api, requestBackgroundSync } from "./core.js";

const QUEUE_MAX = 5000;  // a week at most, if never sent

function withinHours(hours, now) {
  var m = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(hours || "");
  if (!m) return true;
  var minutes = now.getHours() * 60 + now.getMinutes();
  return minutes >= Number(m[1]) * 60 + Number(m[2]) && minutes < Number(m[3]) * 60 + Number(m[4]);
}

let appTrailStarted = null;  // the settings the app's service was started with since this page loaded

// In the app: starts its trail service once per page load, and again when the settings change.
function startAppTrail(settings) {
  var key = JSON.stringify([settings.trail_interval_min, settings.trail_hours]);
  if (appTrailStarted === key) return Promise.resolve(null);
  appTrailStarted = key;
  return Bridge.trailStart(settings).catch(function (err) {
    appTrailStarted = null;  // try again at the next tick
    console.warn("trail: the app did not start its trail service: " + err.message);
    return null;
  });
}

function sampleTrail() {
  return Promise.all([Store.getMeta("bootstrap"), Store.getMeta("device"), Store.getMeta("trail_last"), Bridge.ready()]).then(function (r) {
    var settings = (r[0] && r[0].settings) || {};
    if (!r[1]) return null;
    if (Bridge.kind === "android") return r[0] ? startAppTrail(settings) : null;
    var every = (settings.trail_interval_min || 5) * 60000;
    if (!withinHours(settings.trail_hours, new Date())) return null;
    if (r[2] && Date.now() - Date.parse(r[2]) < every - 5000) return null;
    return Bridge.getPosition().then(function (pos) {
      var point = { uuid: crypto.randomUUID(), at: pos.at || new Date().toISOString(), lat: pos.lat, lon: pos.lon,
                    accuracy_m: pos.accuracy_m, is_mock: !!pos.is_mock };
      return Store.getMeta("trail").then(function (points) {
        points = points || [];
        points.push(point);
        return Promise.all([Store.setMeta("trail", points.slice(-QUEUE_MAX)),
                            Store.setMeta("trail_last", new Date().toISOString())]);
      }).then(requestBackgroundSync);
    }, function () { return null; });  // no fix now: try at the next interval
  });
}

// The points the app's service holds go into the queue (by UUID, once), durably, THEN are acknowledged.
// What does not fit in the queue stays in the app, where it is kept as safely.
function takeAppTrail() {
  return Bridge.ready().then(function () {
    if (Bridge.kind !== "android") return null;
    // The service runs from the first sync after the settings arrive (and again when they change).
    return Store.getMeta("bootstrap").then(function (boot) {
      if (boot && boot.settings) return startAppTrail(boot.settings);
    }).then(function () { return Store.getMeta("trail"); }).then(function (queue) {
      queue = queue || [];
      var room = Math.min(500, QUEUE_MAX - queue.length);
      if (room < 1) return null;
      return Bridge.trailTake(room).then(function (points) {
        if (!points.length) return null;
        return Store.getMeta("trail").then(function (now) { return [points, now || []]; });
      }).then(function (taken) {
        if (!taken) return null;
        var points = taken[0], known = {};
        queue = taken[1];
        queue.forEach(function (p) { known[p.uuid] = true; });
        points.forEach(function (p) {
          if (known[p.uuid]) return;
          known[p.uuid] = true;
          queue.push({ uuid: p.uuid, at: p.at, lat: p.lat, lon: p.lon, accuracy_m: p.accuracy_m, is_mock: p.is_mock });
        });
        return Store.setMeta("trail", queue, { durable: true })
          .then(function () { return Bridge.trailAck(points.map(function (p) { return p.uuid; })); })
          .catch(function (err) {
            // Not acknowledged: the app offers the same points again next time; the queue keeps them once.
            console.warn("trail: points from the app not acknowledged: " + err.message);
          });
      });
    });
  }).catch(function (err) { console.warn("trail: no points from the app: " + err.message); });
}

function sendTrail() {
  return takeAppTrail().then(function () { return Store.getMeta("trail"); }).then(function (points) {
    if (!points || !points.length) return;
    var batch = points.slice(0, 500);
    return api("POST", "/api/v1/track", { points: batch }).then(function (resp) {
      // Only what the server confirmed (or refused as invalid) leaves the phone.
      var done = {};
      resp.confirmed.forEach(function (u) { done[u] = true; });
      resp.rejected.forEach(function (r) { if (r.index !== null && batch[r.index]) done[batch[r.index].uuid] = true; });
      return Store.getMeta("trail").then(function (now) {
        return Store.setMeta("trail", (now || []).filter(function (p) { return !done[p.uuid]; }));
      });
    }, function (err) { if (err instanceof Halt) throw err; });
  });
}

export { withinHours, sampleTrail, sendTrail, takeAppTrail };
