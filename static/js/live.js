// Live pages (the call log, a call's page, the dashboard, the webhook deliveries). htmx polls
// each element marked data-live; the server answers 204 when nothing changed. A poll goes out
// only while live() says so: the switch is on, the tab is visible (a hidden tab costs the
// server nothing), no confirm dialog is open and nobody is typing in the region (a poll's
// answer that arrives while the dialog is open is dropped). After a
// swap, every [data-field] whose text changed is briefly highlighted, the keyboard focus
// goes back to the element that had it (by its id, or its place in its row), and a <details>
// the reader had opened (by its id) stays open: a row's panel closed under the reader's
// pointer as its status changed.
// An answer may send an element the page already shows as it is as an empty placeholder with
// its id and data-kept (the call log sends only the rows that changed): the page's own
// element takes its place, as it is (its highlight is not replayed).
(function () {
  "use strict";
  var KEY = "callboard.live"; // one switch for every live page: paused here, paused there
  var toggle = document.getElementById("live-toggle");
  var label = document.getElementById("live-state");
  var wrapper = toggle && toggle.closest(".live-switch");
  // While the confirm dialog asks about a hang-up, a poll would replace what it asks about.
  var dialog = document.getElementById("confirm-dialog");

  function typing(region) {
    var active = document.activeElement;
    return active && region.contains(active) && active.matches("input, textarea, select");
  }

  function live(region) {
    return (!toggle || toggle.checked) && document.visibilityState === "visible" &&
      !(dialog && dialog.open) && !typing(region);
  }

  function show() {
    label.textContent = toggle.checked ? "Live" : "Paused";
    wrapper.classList.toggle("paused", !toggle.checked);
  }

  // Our Content-Security-Policy forbids eval, so htmx cannot run a trigger filter: the
  // poll's request is cancelled here instead while the page is paused or hidden. Requests
  // of the forms inside a region (an action) always go.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var region = event.detail.elt;
    if (region.hasAttribute("data-live") && event.detail.requestConfig.verb === "get" &&
        !live(region)) event.preventDefault();
  });

  // Where the keyboard focus is, to put it back after a swap: the element's id, or for one
  // without (a row's Hang up button or link) its row's id and its place among the row's
  // controls. A call log row changes under a keyboard user every second or two: the focus
  // fell back to the top of the page, and Enter then hung up nothing.
  var CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, summary";
  function focusedPlace(region, active) {
    if (!active || !region.contains(active) || active === region) return null;
    if (active.id) return {id: active.id};
    var holder = active.parentElement.closest("[id]");
    if (!holder || holder === region || !region.contains(holder)) return null;
    var index = Array.prototype.indexOf.call(holder.querySelectorAll(CONTROLS), active);
    return index < 0 ? null : {holder: holder.id, index: index, tag: active.tagName};
  }
  function refound(place) {
    if (place.id) return document.getElementById(place.id);
    var holder = document.getElementById(place.holder);
    if (!holder) return null;
    var controls = holder.querySelectorAll(CONTROLS);
    var same = controls[place.index];
    // Gone (a call that ended has no Hang up): the row's first control keeps the reader's place.
    return same && same.tagName === place.tag ? same : controls[0] || null;
  }

  var before = null;
  var replaced = null; // the region being swapped out, which holds the kept elements
  var focused = null;
  var opened = [];
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var region = event.detail.target;
    if (!region || !region.hasAttribute("data-live")) return;
    if (dialog && dialog.open && event.detail.requestConfig.verb === "get") {
      // A poll sent before the dialog opened: its answer would replace the form the dialog
      // asks about, whose confirmation would then submit nothing. The next poll, after the
      // dialog closes, asks again from the same moment.
      event.detail.shouldSwap = false;
      return;
    }
    replaced = region;
    before = {};
    region.querySelectorAll("[data-field]").forEach(function (field) {
      before[field.getAttribute("data-field")] = field.textContent.trim();
    });
    focused = focusedPlace(region, document.activeElement);
    opened = Array.prototype.map.call(region.querySelectorAll("details[id][open]"),
                                      function (details) { return details.id; });
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    if (replaced === null) return;
    document.querySelectorAll("[data-live] [data-kept]").forEach(function (placeholder) {
      var element = replaced.querySelector("#" + CSS.escape(placeholder.id));
      if (element === null) {
        // Only if a node's clock ran past the late-change margin: the page lacks a row the
        // server took as shown, so it asks for all of it again.
        window.location.reload();
        return;
      }
      element.classList.remove("changed");
      placeholder.replaceWith(element);
    });
    replaced = null;
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    if (before === null) return;
    document.querySelectorAll("[data-live] [data-field]").forEach(function (field) {
      var was = before[field.getAttribute("data-field")];
      if (was !== undefined && was !== field.textContent.trim()) field.classList.add("changed");
    });
    before = null;
    var again = focused && refound(focused);
    if (again && again !== document.activeElement) again.focus();
    focused = null;
    opened.forEach(function (id) {
      var details = document.getElementById(id);
      if (details) details.open = true;
    });
    opened = [];
  });

  if (!toggle) return;
  toggle.checked = window.localStorage.getItem(KEY) !== "paused";
  show();
  toggle.addEventListener("change", function () {
    window.localStorage.setItem(KEY, toggle.checked ? "live" : "paused");
    show();
  });
})();
