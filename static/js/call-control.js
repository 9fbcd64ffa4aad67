// The call page's Actions panel: the transfer form shows only the chosen target's field and
// checks an NCCO written inline as it is typed (the server's validator, as the NCCO editor).
(function () {
  "use strict";

  var form = document.querySelector('form[data-control="transfer"]');
  if (!form) return;
  var FIELDS = { document: "transfer_ncco_document", ncco: "transfer_ncco", url: "transfer_url" };

  function chosen() {
    var picked = form.querySelector('input[name="target"]:checked') ||
      form.querySelector('input[name="target"]');
    return picked ? picked.value : "";
  }

  function showChosen() {
    var target = chosen();
    Object.keys(FIELDS).forEach(function (name) {
      var input = document.getElementById(FIELDS[name]);
      if (input) input.closest(".field").hidden = name !== target;
    });
    issues.hidden = target !== "ncco" || !issues.childElementCount;
  }

  var issues = document.getElementById("transfer-ncco-issues");
  var textarea = document.getElementById(FIELDS.ncco);
  form.addEventListener("change", function (event) {
    if (event.target.name === "target") showChosen();
  });
  showChosen();
  if (!textarea) return;

  // Django's CSRF token, as htmx gets it: the hx-headers attribute on <body>.
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function show(report) {
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
  textarea.addEventListener("input", function () {
    clearTimeout(timer);
    if (!textarea.value.trim()) {
      issues.replaceChildren();
      issues.hidden = true;
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
  });
})();
