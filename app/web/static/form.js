// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  var locate = document.getElementById("locate");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (position) {
        document.getElementById("lat").value = position.coords.latitude.toFixed(5);
        document.getElementById("lon").value = position.coords.longitude.toFixed(5);
        document.getElementById("lat").dispatchEvent(new Event("input"));
      });
    });
  }

  // A map pin, when tiles are configured: Leaflet is fetched only when the button is pressed.
  // The latitude and longitude fields stay the source of truth.
  var pick = document.getElementById("pick");
  var box = document.getElementById("pin-box");
  if (pick && box) {
    pick.hidden = false;
    var map = null;
    pick.addEventListener("click", function () {
      var open = box.hidden;
      box.hidden = !open;
      pick.setAttribute("aria-expanded", open ? "true" : "false");
      if (!open) { return; }
      if (map) { map.invalidateSize(); return; }
      pick.disabled = true;
      loadLeaflet(pick, function () {
        pick.disabled = false;
        map = showPinMap(document.getElementById("pin-map"));
      }, function () {
        // Leaflet did not arrive (a bad connection): the fields are still there.
        pick.disabled = false;
        box.hidden = true;
        pick.setAttribute("aria-expanded", "false");
      });
    });
  }

  function loadLeaflet(button, done, failed) {
    if (typeof L !== "undefined") { done(); return; }
    var waiting = 2;
    var ready = function () { waiting -= 1; if (waiting === 0) { done(); } };
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = button.getAttribute("data-leaflet-css");
    css.onload = ready;
    css.onerror = failed;
    document.head.appendChild(css);
    var js = document.createElement("script");
    js.src = button.getAttribute("data-leaflet-js");
    js.onload = ready;
    js.onerror = failed;
    document.head.appendChild(js);
  }

  function showPinMap(element) {
    var lat = document.getElementById("lat");
    var lon = document.getElementById("lon");
    var typed = function () {
      var a = parseFloat(lat.value.replace(",", "."));
      var b = parseFloat(lon.value.replace(",", "."));
      if (isNaN(a) || isNaN(b) || Math.abs(a) > 90 || Math.abs(b) > 180) { return null; }
      return L.latLng(a, b);
    };
    var map = L.map(element);
    L.tileLayer(element.getAttribute("data-tiles"), {
      attribution: element.getAttribute("data-attribution") || "", maxZoom: 18
    }).addTo(map);
    var pin = null;
    var place = function (position) {
      if (pin) { pin.setLatLng(position); }
      else {
        var label = element.getAttribute("data-pin");
        pin = L.marker(position, { keyboard: false, title: label, alt: label }).addTo(map);
      }
    };
    var choose = function (position) {
      position = position.wrap();
      place(position);
      lat.value = position.lat.toFixed(5);
      lon.value = position.lng.toFixed(5);
    };
    var start = typed();
    if (start) { map.setView(start, 13); place(start); }
    else { map.setView([20, 0], 2); }
    map.on("click", function (event) { choose(event.latlng); });
    element.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target === element) {
        event.preventDefault();
        choose(map.getCenter());
      }
    });
    var follow = function () {
      var position = typed();
      if (position) { place(position); map.panTo(position, { animate: false }); }
    };
    lat.addEventListener("input", follow);
    lon.addEventListener("input", follow);
    return map;
  }

  var copy = document.getElementById("copy");
  var reference = document.getElementById("reference");
  if (copy && reference && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(reference.textContent.trim()).then(function () {
        copy.textContent = copy.getAttribute("data-copied");
      });
    });
  }
})();
