// The call page's Actions panel: the transfer form shows only the chosen target's field and
// checks an NCCO written inline as it is typed (the server's validator, as the NCCO editor).
// The panel is swapped in by htmx whenever the call changes, so everything is delegated from
// the document and the chosen field is shown again after each swap.
(function () {
  "use strict";

  var FIELDS = { document: "transfer_ncco_document", ncco: "transfer_ncco", url: "transfer_url" };

  function transferForm() {
    return document.querySelector('form[data-control="transfer"]');
  }

  function issuesList() {
    return document.getElementById("transfer-ncco-issues");
  }

  function showChosen() {
    var form = transferForm();
    if (!form) return;
    var picked = form.querySelector('input[name="target"]:checked') ||
      form.querySelector('input[name="target"]');
    var target = picked ? picked.value : "";
    Object.keys(FIELDS).forEach(function (name) {
      var input = document.getElementById(FIELDS[name]);
      if (input) input.closest(".field").hidden = name !== target;
    });
    var issues = issuesList();
    issues.hidden = target !== "ncco" || !issues.childElementCount;
  }

  // Django's CSRF token, as htmx gets it: the hx-headers attribute on <body>.
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function show(report) {
    var issues = issuesList();
    issues.replaceChildren();
    issues.classList.toggle("valid", report.valid);
    if (report.valid) {
      var ok = document.createElement("li");
      ok.textContent = "The NCCO is valid.";
      issues.appendChild(ok);
    }
    report.errors.forEach(function (issue) {
      var item = document.createElement("li");
      var where = issue.path || "(document)";
      if (issue.line) where += " (line " + issue.line + ")";
      item.textContent = where + ": " + issue.message;
      issues.appendChild(item);
    });
    issues.hidden = false;
  }

  var timer = null;
  var latest = 0;
  function check(textarea) {
    var form = textarea.form;
    clearTimeout(timer);
    if (!textarea.value.trim()) {
      issuesList().replaceChildren();
      issuesList().hidden = true;
      return;
    }
    timer = setTimeout(function () {
      var asked = ++latest;
      fetch(form.dataset.validateUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ ncco: null, text: textarea.value })
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      }).then(function (report) {
        if (asked === latest) show(report);
      }).catch(function () { /* the server checks again on submit */ });
    }, 400);
  }

  document.addEventListener("change", function (event) {
    if (event.target.name === "target" && event.target.closest('form[data-control="transfer"]')) {
      showChosen();
    }
  });
  document.addEventListener("input", function (event) {
    if (event.target.id === FIELDS.ncco) check(event.target);
  });
  document.body.addEventListener("htmx:afterSettle", showChosen);
  showChosen();
})();
