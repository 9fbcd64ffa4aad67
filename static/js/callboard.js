// Small behaviours shared by every page. No build step, no framework: plain DOM.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="#selector">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    navigator.clipboard.writeText(text.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  // Destructive actions: <form data-confirm="sentence"> asks in a modal dialog first; with
  // data-confirm-if="selector", only when the form holds a match (a box just unticked).
  function confirmed(form, then) {
    var dialog = document.getElementById("confirm-dialog");
    document.getElementById("confirm-message").textContent = form.getAttribute("data-confirm");
    document.getElementById("confirm-ok").textContent = form.getAttribute("data-confirm-label") || "Confirm";
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "confirm") then();
    });
    dialog.showModal();
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    // A form htmx sends asks through htmx:confirm below.
    if (!form.matches("form[data-confirm]") || form.hasAttribute("hx-post") ||
        form.dataset.confirmed === "yes") return;
    var only = form.getAttribute("data-confirm-if");
    if (only && !form.querySelector(only)) return;
    event.preventDefault();
    confirmed(form, function () {
      form.dataset.confirmed = "yes";
      form.requestSubmit(event.submitter || undefined);
    });
  });
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt;
    if (!form.matches("form[data-confirm]")) return;
    event.preventDefault();
    confirmed(form, function () { event.detail.issueRequest(true); });
  });

  // A region that scrolls (a wide table on a phone, a long JSON body) must take the keyboard
  // focus, or keyboard users cannot scroll it. Whether it scrolls depends on the window.
  function focusableWhenScrolling() {
    document.querySelectorAll(".tablewrap, pre").forEach(function (region) {
      var scrolls = region.scrollWidth > region.clientWidth + 1 ||
        region.scrollHeight > region.clientHeight + 1;
      if (scrolls) region.setAttribute("tabindex", "0");
      else if (region.getAttribute("tabindex") === "0") region.removeAttribute("tabindex");
    });
  }
  focusableWhenScrolling();
  window.addEventListener("resize", focusableWhenScrolling);
  document.body.addEventListener("htmx:afterSettle", focusableWhenScrolling);

  // A recording's links are signed for a few minutes: a player on a page left open longer
  // failed without a word when pressed. <audio data-fresh-from="url"> asks that url (its
  // section, rendered again) for new links, once per link, and plays on from where it was.
  document.addEventListener("error", function (event) {
    var audio = event.target;
    if (!(audio instanceof HTMLMediaElement) || !audio.dataset.freshFrom ||
        audio.dataset.freshSrc === audio.currentSrc) return;
    var holder = audio.closest("[data-recording]");
    var resume = !audio.paused, at = audio.currentTime;
    fetch(audio.dataset.freshFrom, {credentials: "same-origin"}).then(function (response) {
      return response.ok ? response.text() : Promise.reject(response.status);
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector(
        '[data-recording="' + holder.dataset.recording + '"]');
      var player = fresh && fresh.querySelector("audio");
      if (!player) return;  // deleted meanwhile: the section's next render says so
      var download = fresh.querySelector("a[download]"), link = holder.querySelector("a[download]");
      if (download && link) link.href = download.href;
      audio.src = player.getAttribute("src");
      audio.dataset.freshSrc = audio.src;
      audio.addEventListener("loadedmetadata", function () {
        audio.currentTime = at;
        if (resume) audio.play().catch(function () {});
      }, {once: true});
    }).catch(function () {});
  }, true);  // media errors do not bubble
})();
