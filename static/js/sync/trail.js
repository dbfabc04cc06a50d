// The GPS trail: sampled while the app is open in working hours, kept until the server confirms.
import { Halt, api } from "./core.js";

function withinHours(hours, now) {
  var m = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(hours || "");
  if (!m) return true;
  var minutes = now.getHours() * 60 + now.getMinutes();
  return minutes >= Number(m[1]) * 60 + Number(m[2]) && minutes < Number(m[3]) * 60 + Number(m[4]);
}

function sampleTrail() {
  return Promise.all([Store.getMeta("bootstrap"), Store.getMeta("device"), Store.getMeta("trail_last")]).then(function (r) {
    var settings = (r[0] && r[0].settings) || {};
    var every = (settings.trail_interval_min || 5) * 60000;
    if (!r[1] || !withinHours(settings.trail_hours, new Date())) return null;
    if (r[2] && Date.now() - Date.parse(r[2]) < every - 5000) return null;
    return Bridge.getPosition().then(function (pos) {
      var point = { uuid: crypto.randomUUID(), at: pos.at || new Date().toISOString(), lat: pos.lat, lon: pos.lon,
                    accuracy_m: pos.accuracy_m, is_mock: !!pos.is_mock };
      return Store.getMeta("trail").then(function (points) {
        points = points || [];
        points.push(point);
        return Promise.all([Store.setMeta("trail", points.slice(-5000)),  // a week at most, if never sent
                            Store.setMeta("trail_last", new Date().toISOString())]);
      });
    }, function () { return null; });  // no fix now: try at the next interval
  });
}

function sendTrail() {
  return Store.getMeta("trail").then(function (points) {
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

export { withinHours, sampleTrail, sendTrail };
