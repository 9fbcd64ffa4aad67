// The NCCO editor: CodeMirror 5 with validation as you type, jump-to-line problems, action
// skeletons, "start from" templates, a live preview and the hosted-menu routing table.
// Plain DOM, no build step. The server does every check (POST /api/v1/ncco/validate).
(function () {
  "use strict";

  var form = document.getElementById("ncco-form");
  var textarea = document.getElementById("id_content");
  if (!form || !textarea || typeof CodeMirror === "undefined") return;

  var readOnly = form.dataset.readonly === "true";
  var menuPattern = new RegExp(form.dataset.menuPattern);
  var skeletons = readJson("ncco-skeletons");
  var starters = readJson("ncco-starters");
  var samples = readJson("ncco-sample-values");
  var issuesList = document.getElementById("ncco-issues");
  var noIssues = document.getElementById("ncco-no-issues");
  var status = document.getElementById("ncco-status");
  var preview = document.getElementById("ncco-preview-output");
  var missingNote = document.getElementById("ncco-missing");
  var sampleBox = document.getElementById("ncco-sample");
  var menuSection = document.getElementById("ncco-menu");
  var savedText = textarea.value;
  var submitting = false;

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  // Django's CSRF token, as htmx gets it: the hx-headers attribute on <body>.
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  function parsed(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  // ---- The editor, with the server's problems as lint marks in the gutter.
  var cm = CodeMirror.fromTextArea(textarea, {
    mode: { name: "javascript", json: true },
    lineNumbers: true,
    matchBrackets: true,
    autoCloseBrackets: !readOnly,
    readOnly: readOnly,
    tabSize: 2,
    indentUnit: 2,
    lineWrapping: true,
    gutters: ["CodeMirror-lint-markers", "CodeMirror-linenumbers"],
    lint: { getAnnotations: validate, async: true, delay: 400 },
    extraKeys: {
      "Ctrl-S": save, "Cmd-S": save,
      Tab: function (editor) { editor.execCommand("insertSoftTab"); }
    },
    screenReaderLabel: "NCCO (JSON)"
  });

  function save() {
    if (!readOnly) form.requestSubmit();
  }

  function validate(text, updateLinting) {
    status.textContent = "checking…";
    status.className = "pill muted";
    post(form.dataset.validateUrl, { ncco: parsed(text), text: text })
      .then(function (report) {
        var issues = report.errors.concat(report.warnings);
        showIssues(issues);
        updateLinting(issues.filter(function (i) { return i.line; }).map(function (issue) {
          var line = issue.line - 1;
          return {
            from: CodeMirror.Pos(line, 0),
            to: CodeMirror.Pos(line, cm.getLine(line) ? cm.getLine(line).length : 0),
            message: issue.message,
            severity: issue.severity
          };
        }));
        if (report.valid) renderPreview(text);
        else preview.textContent = "Fix the errors to see the preview.";
        toggleMenu(text);
      })
      .catch(function () {
        status.textContent = "could not check";
        status.className = "pill warn";
        updateLinting([]);
      });
  }

  function showIssues(issues) {
    issuesList.textContent = "";
    issues.forEach(function (issue) {
      var item = document.createElement("li");
      item.className = issue.severity;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "linklike";
      button.dataset.line = issue.line || "";
      var pill = document.createElement("span");
      pill.className = "pill " + (issue.severity === "error" ? "bad" : "warn");
      pill.textContent = issue.severity;
      button.appendChild(pill);
      if (issue.line) {
        var where = document.createElement("span");
        where.className = "muted";
        where.textContent = " line " + issue.line;
        button.appendChild(where);
      }
      var path = document.createElement("code");
      path.textContent = " " + (issue.path || "/");
      button.appendChild(path);
      button.appendChild(document.createTextNode(" " + issue.message));
      item.appendChild(button);
      issuesList.appendChild(item);
    });
    var errors = issues.filter(function (i) { return i.severity === "error"; }).length;
    var warnings = issues.length - errors;
    noIssues.hidden = issues.length > 0;
    if (errors) {
      status.textContent = errors + (errors === 1 ? " error" : " errors");
      status.className = "pill bad";
    } else if (warnings) {
      status.textContent = warnings + (warnings === 1 ? " warning" : " warnings");
      status.className = "pill warn";
    } else {
      status.textContent = "valid";
      status.className = "pill ok";
    }
  }

  // Clicking a problem puts the cursor on its line.
  issuesList.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-line]");
    if (!button || !button.dataset.line) return;
    var line = parseInt(button.dataset.line, 10) - 1;
    var text = cm.getLine(line) || "";
    cm.focus();
    cm.setCursor({ line: line, ch: text.length - text.replace(/^\s+/, "").length });
    cm.scrollIntoView(null, 80);
    cm.getWrapperElement().scrollIntoView({ block: "nearest" });
  });

  // ---- Preview with sample call values.
  var previewTimer = null;

  function sampleValues() {
    var values = {};
    // An empty box means "no value", as when a call lacks it: the preview then says so.
    sampleBox.querySelectorAll("input[data-name]").forEach(function (input) {
      if (input.value !== "") values[input.dataset.name] = input.value;
    });
    return values;
  }

  function syncSampleInputs(text) {
    var names = ["to", "from", "uuid", "conversation_uuid"];
    var found = text.match(/\{\{custom\.[A-Za-z0-9_]+\}\}/g) || [];
    found.forEach(function (token) {
      var name = token.slice(2, -2);
      if (names.indexOf(name) < 0) names.push(name);
    });
    names.forEach(function (name) {
      if (sampleBox.querySelector('input[data-name="' + name + '"]')) return;
      var id = "sample-" + name.replace(/\W/g, "-");
      var field = document.createElement("div");
      field.className = "field";
      var label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = "{{" + name + "}}";
      var input = document.createElement("input");
      input.type = "text";
      input.id = id;
      input.dataset.name = name;
      input.value = samples[name] !== undefined ? samples[name] : "";
      input.addEventListener("input", function () { renderPreview(cm.getValue()); });
      field.appendChild(label);
      field.appendChild(input);
      sampleBox.appendChild(field);
    });
  }

  function renderPreview(text) {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(function () {
      syncSampleInputs(text);
      post(form.dataset.renderUrl, { ncco: parsed(text), text: text, variables: sampleValues() })
        .then(function (result) {
          if (result.ncco === null) return;
          preview.textContent = JSON.stringify(result.ncco, null, 2);
          var notes = [];
          if (result.missing.length) {
            notes.push("No value for " + result.missing.map(function (n) { return "{{" + n + "}}"; })
              .join(", ") + ": a call without one hears an empty string.");
          }
          if (!result.valid) {
            notes.push("With these values: " + result.errors.map(function (e) {
              return e.path + " " + e.message;
            }).join(" "));
          }
          missingNote.textContent = notes.join(" ");
          missingNote.hidden = notes.length === 0;
        })
        .catch(function () { preview.textContent = "The preview could not be rendered."; });
    }, 250);
  }

  // ---- Hosted menu: the routing table shows once an input points at Callboard.
  function toggleMenu(text) {
    if (!menuSection) return;
    var doc = parsed(text);
    var hasMenu = Array.isArray(doc) && doc.some(function (action) {
      return action && action.action === "input" && Array.isArray(action.eventUrl) &&
        action.eventUrl.some(function (url) { return typeof url === "string" && menuPattern.test(url); });
    });
    var hasRoutes = Array.prototype.some.call(
      menuSection.querySelectorAll('input[name="menu_key"]'), function (i) { return i.value; });
    menuSection.hidden = !(hasMenu || hasRoutes);
  }

  var addRoute = document.getElementById("ncco-menu-add");
  if (addRoute) {
    addRoute.addEventListener("click", function () {
      var rows = document.getElementById("ncco-menu-rows");
      var row = rows.querySelector(".menu-row:last-child").cloneNode(true);
      row.querySelector("input").value = "";
      row.querySelector("select").value = "";
      rows.appendChild(row);
      row.querySelector("input").focus();
    });
  }

  // ---- Insert an action after the one the cursor is in (or at the end).
  function actionIndexAtCursor(text, offset) {
    // Count top-level array elements before the cursor: commas at depth 1, outside strings.
    var depth = 0, index = -1, inString = false, escaped = false;
    for (var i = 0; i < offset && i < text.length; i++) {
      var c = text[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "[" || c === "{") { depth++; if (depth === 2 && index < 0) index = 0; }
      else if (c === "]" || c === "}") depth--;
      else if (c === "," && depth === 1) index++;
    }
    return index;
  }

  function insertAction(key) {
    var action = skeletons[key];
    if (!action) return;
    var text = cm.getValue();
    var doc = parsed(text);
    if (!Array.isArray(doc)) {
      // Not readable yet: drop the action's text at the cursor and let validation guide.
      cm.replaceSelection(JSON.stringify(action, null, 2) + ",\n");
      cm.focus();
      return;
    }
    var at = actionIndexAtCursor(text, cm.indexFromPos(cm.getCursor()));
    var position = doc.length ? Math.min(at + 1, doc.length) : 0;
    doc.splice(position, 0, action);
    cm.setValue(JSON.stringify(doc, null, 2));
    // Put the cursor on the new action: the line of its "action" key.
    var seen = -1;
    for (var line = 0; line < cm.lineCount(); line++) {
      if (/^  \{/.test(cm.getLine(line)) && ++seen === position) {
        cm.setCursor({ line: line + 1, ch: 4 });
        break;
      }
    }
    cm.focus();
  }

  document.querySelectorAll("[data-insert]").forEach(function (button) {
    button.addEventListener("click", function () { insertAction(button.dataset.insert); });
  });

  // ---- Start from a template or an official example.
  var startUse = document.getElementById("ncco-start-use");
  if (startUse) {
    startUse.addEventListener("click", function () {
      var key = document.getElementById("ncco-start").value;
      var text = starters[key];
      if (text === undefined) return;
      var current = cm.getValue().replace(/\s/g, "");
      if (current && current !== "[]" && current !== text.replace(/\s/g, "") &&
          !window.confirm("Replace the text in the editor with this starting point?")) return;
      cm.setValue(text);
      cm.focus();
    });
  }

  // ---- Leaving with unsaved changes asks first.
  form.addEventListener("submit", function () {
    cm.save();
    submitting = true;
  });
  window.addEventListener("beforeunload", function (event) {
    if (!submitting && !readOnly && cm.getValue() !== savedText) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  syncSampleInputs(cm.getValue());
  toggleMenu(cm.getValue());
})();
