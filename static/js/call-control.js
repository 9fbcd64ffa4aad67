// The call page's Actions panel: the transfer form shows only the chosen target's field
// (static/js/ncco-check.js checks an NCCO written inline as it is typed). The panel is swapped
// in by htmx whenever the call changes, so the choice is delegated from the document and
// the chosen field is shown again after each swap. Each form sends once at a time.
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

  // A double click (or Enter pressed twice) sent the action twice: hx-sync drops only the
  // page's wait for the first answer, not the request, so two Speak texts reached the
  // provider together. While its request is out a form is busy and its button says so;
  // aria-disabled, not disabled, so the button keeps the keyboard focus. The answer swaps
  // in a new panel; a request that got none (an error, no network) frees the form again.
  var PANEL_FORM = "#actions form";
  function busy(form, yes) {
    var button = form.querySelector("button[type=submit]");
    if (yes) {
      form.setAttribute("aria-busy", "true");
      button.setAttribute("aria-disabled", "true");
    } else {
      form.removeAttribute("aria-busy");
      button.removeAttribute("aria-disabled");
    }
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches(PANEL_FORM) && form.getAttribute("aria-busy") === "true") {
      event.preventDefault();
      event.stopImmediatePropagation();  // captured before htmx's own listener sees it
    }
  }, true);
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.matches(PANEL_FORM)) busy(event.detail.elt, true);
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt.matches(PANEL_FORM)) busy(event.detail.elt, false);
  });
})();
