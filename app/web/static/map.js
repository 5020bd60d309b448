// The map over the list of reports, when tiles are configured; the list stays for everyone.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || typeof L === "undefined") { return; }
  var markers = JSON.parse(document.getElementById("markers").textContent);
  var map = L.map(element);
  L.tileLayer(element.getAttribute("data-tiles"), {
    attribution: element.getAttribute("data-attribution") || "", maxZoom: 18
  }).addTo(map);
  var bounds = [];
  markers.forEach(function (m) {
    var marker = L.circleMarker([m.lat, m.lon], {
      radius: 7, color: m.kind === "missing" ? "#a3001b" : "#1d6e3c"
    }).addTo(map);
    var link = document.createElement("a");
    link.href = m.url;
    link.textContent = m.label;
    marker.bindPopup(link);
    bounds.push([m.lat, m.lon]);
  });
  if (bounds.length) { map.fitBounds(bounds, { maxZoom: 12, padding: [20, 20] }); }
  else { map.setView([0, 0], 2); }
})();
