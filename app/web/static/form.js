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
      });
    });
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
