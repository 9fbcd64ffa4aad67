// A select whose choice decides another field's help (an alert rule's kind decides the
// threshold's unit): <select data-choice-help='{"choice": "text", …}'
// data-choice-help-target="#help-id">. The page's help names every choice's, for a browser
// without JavaScript; this shows the chosen one's only, and again at each change.
(function () {
  "use strict";
  document.querySelectorAll("select[data-choice-help]").forEach(function (select) {
    var texts = JSON.parse(select.getAttribute("data-choice-help"));
    var help = document.querySelector(select.getAttribute("data-choice-help-target"));
    if (!help) return;
    function show() {
      if (texts[select.value]) help.textContent = texts[select.value];
    }
    select.addEventListener("change", show);
    show();
  });
})();
