// Key-value rows (calls/widgets/key_value.html): "Add row" copies the last row, emptied.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-kv-add]");
    if (!button) return;
    var body = button.closest("[data-kv]").querySelector("tbody");
    var last = body.lastElementChild;
    var row = last.cloneNode(true);
    var number = body.children.length + 1;
    row.querySelectorAll("input").forEach(function (input) {
      input.value = "";
      input.removeAttribute("id");
      input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/\d+$/, number));
    });
    body.appendChild(row);
    row.querySelector("input").focus();
  });
})();
