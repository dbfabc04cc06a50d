// The village map (templates/villages/map.html): every surveyed household as a dot coloured by its
// status (surveyed, pre-approved, borrowing, late), with a legend of counts. The data is one
// compact JSON (app/services/villages.py map_data): the centre and, per household, [lat offset,
// lon offset in 1e-5 degrees, status index, name] — no HTML per household. Drawn on a canvas
// renderer (2,000 dots stay smooth on a phone). Tiles as on the trail map (app/domain/basemap.py);
// without them the dots still draw on a blank map. Names go through Esc.html (Leaflet tooltips are HTML).
"use strict";
(function () {
  var COLOURS = { surveyed: "#6b7280", preapproved: "#1d7a3a", borrowing: "#1f5fbf", late: "#b22222" };
  function legend(data) {
    document.querySelectorAll("#village-legend [data-status]").forEach(function (li) {
      var key = li.dataset.status;
      var dot = li.querySelector(".dot");
      if (dot) {
        dot.style.display = "inline-block"; dot.style.width = "10px"; dot.style.height = "10px";
        dot.style.borderRadius = "50%"; dot.style.marginRight = "4px"; dot.style.background = COLOURS[key];
      }
      li.querySelector("[data-count]").textContent = String((data.n || {})[key] || 0);
    });
  }
  function draw() {
    var box = document.getElementById("village-map");
    if (!box || box.dataset.drawn || !window.L) return;
    box.dataset.drawn = "1";
    var map = L.map(box, { zoomControl: true, preferCanvas: true });
    var tiles = JSON.parse(document.getElementById("village-tiles").textContent);
    tiles.layers.forEach(function (t) {
      L.tileLayer(t.url, { maxZoom: 18, subdomains: t.subdomains, attribution: Esc.html(t.attribution) }).addTo(map);
    });
    fetch(box.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) {
        legend(data);
        var c = data.c, renderer = L.canvas({ padding: 0.2 }), bounds = [];
        data.h.forEach(function (h) {
          var lat = c[0] + h[0] / 1e5, lon = c[1] + h[1] / 1e5, status = data.s[h[2]];
          L.circleMarker([lat, lon], { renderer: renderer, radius: 5, weight: 1, color: COLOURS[status],
                                       fillColor: COLOURS[status], fillOpacity: 0.8 })
            .addTo(map).bindTooltip(Esc.html(h[3]));
          bounds.push([lat, lon]);
        });
        if (bounds.length) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17 });
        else map.setView(c, 15);
        box.dataset.households = String(data.h.length);
      })
      .catch(function () { map.setView([30.66, 104.07], 10); box.dataset.households = "error"; });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:load", draw);
  draw();
})();
