// The call page's Actions panel: the transfer form shows only the chosen target's field
// (static/js/ncco-check.js checks an NCCO written inline as it is typed). The panel is swapped
// in by htmx whenever the call changes, so the choice is delegated from the document and
// the chosen field is shown again after each swap.
(function () {
  "use strict";

  var FIELDS = { document: "transfer_ncco_document", ncco: "transfer_ncco", url: "transfer_url" };

  function showChosen() {
    var form = document.querySelector('form[data-control="transfer"]');
    if (!form) return;
    var picked = form.querySelector('input[name="target"]:checked') ||
      form.querySelector('input[name="target"]');
    var target = picked ? picked.value : "";
    Object.keys(FIELDS).forEach(function (name) {
      var input = document.getElementById(FIELDS[name]);
      if (input) input.closest(".field").hidden = name !== target;
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.name === "target" && event.target.closest('form[data-control="transfer"]')) {
      showChosen();
    }
  });
  document.body.addEventListener("htmx:afterSettle", showChosen);
  showChosen();
})();
