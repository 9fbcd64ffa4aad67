// An NCCO typed into a <textarea data-ncco-check="validate URL"> is checked as it is typed,
// by the server's validator (as in the NCCO editor): its problems, with paths and lines,
// or that it is valid, show under the box. Delegated from the document, so boxes that htmx
// swaps in (the call page, the place-call form's re-renders) are checked too.
(function () {
  "use strict";

  // Django's CSRF token, as htmx gets it: the hx-headers attribute on <body>.
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function issuesFor(box) {
    var id = box.id + "-issues";
    var list = document.getElementById(id);
    if (!list) {
      list = document.createElement("ul");
      list.id = id;
      list.className = "ncco-issues";
      list.setAttribute("aria-live", "polite");
      box.insertAdjacentElement("afterend", list);
    }
    return list;
  }

  function show(list, report) {
    list.replaceChildren();
    list.classList.toggle("valid", report.valid);
    if (report.valid) {
      var ok = document.createElement("li");
      ok.textContent = "The NCCO is valid.";
      list.appendChild(ok);
    }
    report.errors.forEach(function (issue) {
      var item = document.createElement("li");
      var where = issue.path || "(document)";
      if (issue.line) where += " (line " + issue.line + ")";
      item.textContent = where + ": " + issue.message;
      list.appendChild(item);
    });
    list.hidden = false;
  }

  var timers = {};
  var latest = {};
  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!box.matches("textarea[data-ncco-check]")) return;
    var list = issuesFor(box);
    clearTimeout(timers[box.id]);
    if (!box.value.trim()) {
      list.replaceChildren();
      list.hidden = true;
      return;
    }
    timers[box.id] = setTimeout(function () {
      var asked = latest[box.id] = (latest[box.id] || 0) + 1;
      fetch(box.getAttribute("data-ncco-check"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ ncco: null, text: box.value })
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      }).then(function (report) {
        if (asked === latest[box.id]) show(list, report);
      }).catch(function () { /* the server checks again on submit */ });
    }, 400);
  });
})();
