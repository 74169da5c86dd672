/* Progressive enhancement for feedsvc pages: copy buttons (no inline script: strict CSP). */
(function () {
  "use strict";
  function announce(text) {
    var live = document.getElementById("live-status");
    if (live) { live.textContent = ""; setTimeout(function () { live.textContent = text; }, 50); }
  }

  function fallbackCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "offscreen";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(ta);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  // The page's own words (body data-*, in the page's language), English otherwise.
  function say(name, fallback) { return (document.body && document.body.getAttribute("data-" + name)) || fallback; }

  function init() {
    var buttons = document.querySelectorAll("button[data-copy], button[data-copy-from]");
    Array.prototype.forEach.call(buttons, function (btn) {
      btn.hidden = false;
      var label = btn.firstChild ? btn.firstChild.nodeValue : "Copy";
      btn.addEventListener("click", function () {
        var from = btn.getAttribute("data-copy-from");
        var text = from ? document.getElementById(from).value : btn.getAttribute("data-copy");
        copy(text).then(function () {
          btn.firstChild.nodeValue = say("copied", "Copied");
          announce(say("copied-status", "Copied to the clipboard."));
          setTimeout(function () { btn.firstChild.nodeValue = label; }, 2000);
        }, function () {
          announce(say("copy-failed", "Could not copy; select the text and copy it by hand."));
        });
      });
    });
    // A click in a read-only URL field selects all of it, ready to copy by hand.
    Array.prototype.forEach.call(document.querySelectorAll("input.feed-url, textarea.snippet"), function (el) {
      el.addEventListener("focus", function () { el.select(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
