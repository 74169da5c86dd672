/* The /embed snippet builder: form -> snippet text + live preview (no inline script: strict CSP). */
(function () {
  "use strict";
  var form = document.getElementById("embed-form");
  if (!form) return;
  var scriptUrl = form.getAttribute("data-script-url");
  var preview = document.getElementById("embed-preview");
  var snippet = document.getElementById("embed-snippet");

  function value(id) { var el = document.getElementById(id); return el ? el.value.trim() : ""; }

  function attrs() {
    var out = [];
    var category = value("embed-category"), tag = value("embed-tag"), lang = value("embed-lang");
    var limit = parseInt(value("embed-limit"), 10);
    if (isNaN(limit)) limit = 5;
    limit = Math.max(1, Math.min(20, limit));
    if (category) out.push(["data-category", category]);
    if (tag) out.push(["data-tag", tag]);
    if (lang) out.push(["data-lang", lang]);
    out.push(["data-limit", String(limit)]);
    if (document.getElementById("embed-summary").checked) out.push(["data-summary", ""]);
    return out;
  }

  function esc(s) {
    return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function update() {
    var a = attrs();
    var div = document.createElement("div");
    div.setAttribute("data-feedsvc", "");
    var html = "<div data-feedsvc";
    for (var i = 0; i < a.length; i++) {
      div.setAttribute(a[i][0], a[i][1]);
      html += " " + a[i][0] + (a[i][1] === "" ? "" : '="' + esc(a[i][1]) + '"');
    }
    html += "></div>\n<script src=\"" + esc(scriptUrl) + "\" async></" + "script>";
    snippet.value = html;
    while (preview.firstChild) preview.removeChild(preview.firstChild);
    preview.appendChild(div);
    if (window.feedsvcEmbed) window.feedsvcEmbed.scan();
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", function (e) { e.preventDefault(); update(); });
  update();
})();
