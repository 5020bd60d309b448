// Keyboard shortcuts for the review queue; progressive enhancement only.
(function () {
  "use strict";
  function typing(event) {
    var tag = (event.target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable;
  }
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-queue-item]"));
  var current = -1;
  document.addEventListener("keydown", function (event) {
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = event.key;
    if (items.length && (key === "j" || key === "k")) {
      current = key === "j" ? Math.min(current + 1, items.length - 1) : Math.max(current - 1, 0);
      items[current].focus();
      event.preventDefault();
    } else if (key === "c" && document.getElementById("confirm")) {
      document.getElementById("confirm").focus();
      event.preventDefault();
    } else if (key === "r" && document.getElementById("reject-reason")) {
      document.getElementById("reject-reason").focus();
      event.preventDefault();
    } else if (key === "n" && document.getElementById("next-match")) {
      window.location.href = document.getElementById("next-match").href;
    }
  });
})();
