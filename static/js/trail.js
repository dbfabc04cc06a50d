// An officer's day on a Leaflet map: the trail, visits (green on site, red flagged) and homes.
// Tiles (#trail-tiles, app/domain/basemap.py): 天地图 by default, or the configured server; the
// positions arrive already in the tiles' coordinate system (converted on the server). Without tiles
// the shapes still draw on a blank map.
// Leaflet treats tooltip strings as HTML: every piece of data goes through Esc.html (escape.js).
"use strict";
(function () {
  function draw() {
    var box = document.getElementById("trail-map");
    if (!box || box.dataset.drawn || !window.L) return;
    box.dataset.drawn = "1";
    var data = JSON.parse(document.getElementById("trail-data").textContent);
    var map = L.map(box, { zoomControl: true });
    var tiles = JSON.parse(document.getElementById("trail-tiles").textContent);
    tiles.layers.forEach(function (t) {
      L.tileLayer(t.url, { maxZoom: 18, subdomains: t.subdomains, attribution: Esc.html(t.attribution) }).addTo(map);
    });
    var bounds = [];
    var line = data.points.filter(function (p) { return !p.mock; }).map(function (p) { return [p.lat, p.lon]; });
    if (line.length) {
      L.polyline(line, { color: "#1f5fbf", weight: 3 }).addTo(map);
      bounds = bounds.concat(line);
    }
    data.points.filter(function (p) { return p.mock; }).forEach(function (p) {
      L.circleMarker([p.lat, p.lon], { radius: 4, color: "#999" }).addTo(map).bindTooltip("mock");
    });
    data.visits.forEach(function (v) {
      var colour = v.on_site ? "#1d7a3a" : "#b22222";
      L.circleMarker([v.lat, v.lon], { radius: 8, color: colour, fillOpacity: 0.8 }).addTo(map)
        .bindTooltip(Esc.html(v.borrower + (v.distance_m != null ? " · " + v.distance_m + " m" : "")));
      bounds.push([v.lat, v.lon]);
      if (v.home) {
        L.marker([v.home.lat, v.home.lon], { title: v.borrower }).addTo(map);
        bounds.push([v.home.lat, v.home.lon]);
      }
    });
    if (bounds.length) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 });
    else map.setView([30.66, 104.07], 10);
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:load", draw);
  draw();
})();
