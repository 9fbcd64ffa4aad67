// The call log's live switch. htmx polls #call-log; a poll goes out only while live() says
// so: the switch is on and the tab is visible (a hidden tab costs the server nothing).
(function () {
  "use strict";
  var KEY = "callboard.callLog.live";
  var toggle = document.getElementById("live-toggle");
  if (!toggle) return;
  var label = document.getElementById("live-state");
  var wrapper = toggle.closest(".live-switch");

  // While the confirm dialog asks about a row's hang-up, a poll would replace that row.
  var dialog = document.getElementById("confirm-dialog");

  function live() {
    return toggle.checked && document.visibilityState === "visible" && !(dialog && dialog.open);
  }

  function show() {
    label.textContent = toggle.checked ? "Live" : "Paused";
    wrapper.classList.toggle("paused", !toggle.checked);
  }

  // Our Content-Security-Policy forbids eval, so htmx cannot run a trigger filter: the
  // poll's request is cancelled here instead while the log is paused or hidden.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.id === "call-log" && !live()) event.preventDefault();
  });

  toggle.checked = window.localStorage.getItem(KEY) !== "paused";
  show();
  toggle.addEventListener("change", function () {
    window.localStorage.setItem(KEY, toggle.checked ? "live" : "paused");
    show();
  });
})();
