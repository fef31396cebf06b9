/* gitplane report: the matrix filter. The page works without this script. */
(function () {
  "use strict";
  var form = document.getElementById("filter");
  if (!form) { return; }
  var text = document.getElementById("filter-text");
  var which = document.getElementById("filter-status");
  var count = document.getElementById("filter-count");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#matrix-table tbody tr"));
  function apply() {
    var q = text.value.trim().toLowerCase();
    var want = which.value;
    var shown = 0;
    rows.forEach(function (row) {
      var flags = " " + (row.getAttribute("data-flags") || "") + " ";
      var ok = (!q || (row.getAttribute("data-name") || "").indexOf(q) >= 0) &&
        (want === "all" || flags.indexOf(" " + want + " ") >= 0);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " applications shown";
  }
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  text.addEventListener("input", apply);
  which.addEventListener("change", apply);
  form.hidden = false;
  apply();
  /* a link to a folded part opens it */
  function openTarget() {
    var id = window.location.hash.slice(1);
    var target = id ? document.getElementById(decodeURIComponent(id)) : null;
    for (var el = target; el; el = el.parentElement) {
      if (el.tagName === "DETAILS") { el.open = true; }
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
}());
