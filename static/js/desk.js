// The desk form: while the agent types the amount received, the invoices'
// allocations are filled oldest first (disputed ones left alone), as the
// server does when they are left empty. A field the agent typed in is
// never overwritten.
(function () {
  "use strict";
  var amount = document.getElementById("id_amount");
  if (!amount) { return; }
  var fields = Array.prototype.slice.call(document.querySelectorAll("input.desk-allocation"));
  var typed = new Set();
  fields.forEach(function (field) {
    field.addEventListener("input", function () { typed.add(field); });
  });
  function cents(text) {
    var value = parseFloat(String(text).replace(/\s/g, "").replace(",", "."));
    return isNaN(value) ? 0 : Math.round(value * 100);
  }
  function euros(value) {
    return (value / 100).toFixed(2).replace(".", ",");
  }
  amount.addEventListener("input", function () {
    if (typed.size) { return; }
    var left = cents(amount.value);
    fields.forEach(function (field) {
      if (field.dataset.disputed === "1") { return; }
      var share = Math.min(cents(field.dataset.due), left);
      field.value = share > 0 ? euros(share) : "";
      left -= Math.max(share, 0);
    });
  });
})();
