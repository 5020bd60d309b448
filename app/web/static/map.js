// The map over the lists of reports and shelters, when tiles are configured; the lists stay
// for everyone. Reports and shelters are two layers, each can be hidden.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || typeof L === "undefined") { return; }
  var markers = JSON.parse(document.getElementById("markers").textContent);
  var shelterData = document.getElementById("shelter-markers");
  var shelters = shelterData ? JSON.parse(shelterData.textContent) : [];
  var map = L.map(element);
  L.tileLayer(element.getAttribute("data-tiles"), {
    attribution: element.getAttribute("data-attribution") || "", maxZoom: 18
  }).addTo(map);
  var bounds = [];
  var reportLayer = L.layerGroup().addTo(map);
  markers.forEach(function (m) {
    var marker = L.circleMarker([m.lat, m.lon], {
      radius: 7, color: m.kind === "missing" ? "#a3001b" : "#1d6e3c"
    }).addTo(reportLayer);
    var link = document.createElement("a");
    link.href = m.url;
    link.textContent = m.label;
    marker.bindPopup(link);
    bounds.push([m.lat, m.lon]);
  });
  var shelterLayer = L.layerGroup().addTo(map);
  shelters.forEach(function (s) {
    var text = document.createElement("span");
    text.textContent = s.label;
    L.marker([s.lat, s.lon], { title: s.label, alt: s.label }).bindPopup(text).addTo(shelterLayer);
    bounds.push([s.lat, s.lon]);
  });
  if (shelterData) {
    var layers = {};
    layers[shelterData.getAttribute("data-reports")] = reportLayer;
    layers[shelterData.getAttribute("data-shelters")] = shelterLayer;
    L.control.layers(null, layers).addTo(map);
  }
  if (bounds.length) { map.fitBounds(bounds, { maxZoom: 12, padding: [20, 20] }); }
  else { map.setView([0, 0], 2); }
})();
