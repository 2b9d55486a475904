// A form that comes back with errors: the summary at its top takes the
// focus (a screen reader reads it, a phone scrolls to it); its links lead
// to each field (RGAA 11.10, 11.11).
(function () {
  "use strict";
  var summary = document.getElementById("form-errors");
  if (summary) { summary.focus(); }
})();
