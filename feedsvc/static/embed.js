/*! feedsvc embed widget. Paste:
 *  <div data-feedsvc data-category="statements" data-limit="5" data-lang="en"></div>
 *  <script src="https://HOST/embed.js" async></script>
 * Options: data-category, data-tag, data-lang, data-limit (1-20), data-summary, data-label.
 * Language: data-lang, else the host page's lang; its words come from feedsvc's catalogs.
 * Styling: inherits font and colour; --feedsvc-* custom properties and ::part() for the rest.
 * API strings are only ever set with textContent (never parsed as HTML). */
(function () {
  "use strict";
  // Captured now: document.currentScript is null once this script has finished running.
  var me = document.currentScript, src = me && me.src;
  if (!src) {
    var all = document.querySelectorAll("script[src]");
    for (var i = all.length - 1; i >= 0 && !src; i--) {
      if (/\/embed\.js([?#]|$)/.test(all[i].src)) src = all[i].src;
    }
  }
  if (!src) return;
  var ORIGIN = new URL(src, document.baseURI).origin;
  if (window.feedsvcEmbed && window.feedsvcEmbed.origin === ORIGIN) { window.feedsvcEmbed.scan(); return; }

  var CSS = ":host{display:block}:host([hidden]){display:none}" +
    "ul{list-style:none;margin:0;padding:0}" +
    "li{margin:0 0 var(--feedsvc-gap,.9em);padding:0 0 var(--feedsvc-gap,.9em);" +
    "border-bottom:var(--feedsvc-separator,1px solid rgba(127,127,127,.3))}" +
    "li:last-child{border-bottom:0;margin-bottom:0;padding-bottom:0}" +
    "a{color:var(--feedsvc-link-color,inherit);text-decoration:var(--feedsvc-link-decoration,underline);" +
    "text-underline-offset:.15em}" +
    ".title{font-weight:var(--feedsvc-title-weight,600);font-size:var(--feedsvc-title-size,1em)}" +
    "a:focus-visible{outline:2px solid var(--feedsvc-focus-color,currentColor);outline-offset:2px}" +
    ".meta{display:block;margin-top:.2em;font-size:var(--feedsvc-meta-size,.875em);" +
    "color:var(--feedsvc-meta-color,inherit)}" +
    ".summary{margin:.35em 0 0;font-size:var(--feedsvc-summary-size,1em)}" +
    ".fallback,.empty{margin:0;font-size:var(--feedsvc-meta-size,.875em)}";
  var sheet = null;
  // From the server's catalogs: {strings: {lang: {label, event, empty}}, rtl: [right-to-left languages]}.
  var I18N = /*@i18n@*/{}, EN = {label: "Latest posts", event: "Event:", empty: "No posts yet."};
  function primary(lang) { return String(lang || "").split("-")[0].toLowerCase(); }
  function rtl(lang) { return (I18N.rtl || ["ar", "fa", "he", "ur"]).indexOf(primary(lang)) >= 0; }
  function words(lang) { var s = I18N.strings || {}; return s[primary(lang)] || s.en || EN; }
  // data-lang, else the nearest lang attribute (the host page's <html lang>).
  function widgetLang(host) {
    var holder = host.closest && host.closest("[lang]");
    return host.dataset.lang || (holder && holder.getAttribute("lang")) || "en";
  }
  // Dates in the widget's language, in the reader's regional variant of it if any (en-GB: 7 April 2021).
  function formatter(lang, opts) {
    var mine = [new Intl.DateTimeFormat().resolvedOptions().locale].concat(navigator.languages || []), locales = [lang];
    for (var i = mine.length - 1; i >= 0; i--) if (mine[i] && primary(mine[i]) === primary(lang)) locales.unshift(mine[i]);
    try { return new Intl.DateTimeFormat(locales, opts); } catch (e) { return new Intl.DateTimeFormat(undefined, opts); }
  }

  function styleRoot(root) {
    // A constructed sheet works under a strict host CSP (style-src without 'unsafe-inline').
    try {
      if (!sheet) { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); }
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      var style = document.createElement("style");
      style.textContent = CSS;
      root.appendChild(style);
    }
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; node.setAttribute("part", cls); }
    if (text != null) node.textContent = String(text);
    return node;
  }

  function safeUrl(url) {
    try {
      var u = new URL(String(url), ORIGIN);
      return /^https?:$/.test(u.protocol) ? u.href : null;
    } catch (e) { return null; }
  }

  function enc(s) { return encodeURIComponent(s); }

  function options(host) {
    var d = host.dataset, n = parseInt(d.limit, 10), ui = widgetLang(host), w = words(ui);
    return {
      category: d.category || "", tag: d.tag || "", lang: d.lang || "",
      limit: isNaN(n) ? 5 : Math.max(1, Math.min(20, n)),
      summary: d.summary != null && d.summary !== "false",
      label: d.label || w.label, ui: ui, words: w
    };
  }

  function apiUrl(o) {
    var path = o.category ? "/api/v1/categories/" + enc(o.category) + "/posts" : "/api/v1/posts";
    var q = "?per_page=" + o.limit + (o.tag ? "&tag=" + enc(o.tag) : "") + (o.lang ? "&lang=" + enc(o.lang) : "");
    return ORIGIN + path + q;
  }

  // The widget's own feed; after a 400/404 (unknown category, tag or language) that feed
  // does not exist either, so the link goes to the feed of everything.
  function feedUrl(o, rejected) {
    if (rejected) return ORIGIN + "/feeds/atom.xml";
    var scope = o.category ? "categories/" + enc(o.category) + "/" : (o.tag ? "tags/" + enc(o.tag) + "/" : "");
    return ORIGIN + "/feeds/" + scope + "atom.xml" + (o.lang ? "?lang=" + enc(o.lang) : "");
  }

  // The publication's calendar date as written (a date-only post must not move a day
  // backwards for readers west of the site), in the reader's locale.
  function pubDate(iso, lang) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso || ""));
    if (!m) return null;
    var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], 12));
    return formatter(lang, {year: "numeric", month: "long", day: "numeric", timeZone: "UTC"}).format(d);
  }

  // Event times in the reader's own time zone, named, so nobody has to convert.
  function eventDate(iso, lang) {
    var d = new Date(String(iso || ""));
    if (isNaN(d.getTime())) return null;
    return formatter(lang, {weekday: "short", year: "numeric", month: "short", day: "numeric",
      hour: "numeric", minute: "2-digit", timeZoneName: "short"}).format(d);
  }

  function timeEl(cls, iso, text) {
    var t = el("time", cls, text);
    t.setAttribute("datetime", String(iso));
    return t;
  }

  function item(post, o) {
    var li = el("li", "item"), url = safeUrl(post.url);
    var title = el(url ? "a" : "span", "title", post.title || "");
    if (url) title.href = url;
    if (post.lang) {
      title.setAttribute("lang", String(post.lang));
      // A right-to-left item says so; so does a left-to-right one in a right-to-left list.
      if (rtl(post.lang)) li.setAttribute("dir", "rtl");
      else if (rtl(o.ui)) li.setAttribute("dir", "ltr");
    }
    li.appendChild(title);
    var when = pubDate(post.date_published, o.ui);
    if (when) {
      var meta = el("span", "meta");
      meta.appendChild(timeEl("date", post.date_published, when));
      li.appendChild(meta);
    }
    var ev = post.event;
    if (ev && ev.start) {
      // An all-day event is a calendar date, shown as written (like a publication date).
      var evLine = el("span", "meta event"), start = ev.all_day ? pubDate(ev.start, o.ui) : eventDate(ev.start, o.ui);
      evLine.appendChild(document.createTextNode(o.words.event + " "));
      if (start) evLine.appendChild(timeEl("event-start", ev.all_day ? String(ev.start).slice(0, 10) : ev.start, start));
      if (ev.location) evLine.appendChild(document.createTextNode((start ? " · " : "") + ev.location));
      li.appendChild(evLine);
    }
    if (o.summary && post.summary) {
      var summary = el("p", "summary", post.summary);
      if (post.lang) summary.setAttribute("lang", String(post.lang));
      li.appendChild(summary);
    }
    return li;
  }

  function show(root, node) {
    var keep = root.querySelectorAll("style");
    while (root.firstChild) root.removeChild(root.firstChild);
    for (var i = 0; i < keep.length; i++) root.appendChild(keep[i]);
    root.appendChild(node);
  }

  function fallback(root, o, rejected) {
    var p = el("p", "fallback"), a = el("a", "fallback-link", o.label);
    a.href = feedUrl(o, rejected);
    p.appendChild(a);
    show(root, p);
  }

  function fill(host) {
    if (host.__feedsvc) return;
    host.__feedsvc = true;
    var o = options(host);
    var root = host.shadowRoot || host.attachShadow({mode: "open"});
    styleRoot(root);
    var list = el("ul", "list");
    list.setAttribute("role", "list"); // keeps list semantics with list-style:none (Safari)
    list.setAttribute("lang", o.ui);
    list.setAttribute("dir", rtl(o.ui) ? "rtl" : "ltr");
    list.setAttribute("aria-label", o.label);
    list.setAttribute("aria-busy", "true");
    show(root, list);
    var ctl = typeof AbortController === "function" ? new AbortController() : null;
    var timer = ctl && setTimeout(function () { ctl.abort(); }, 15000);
    fetch(apiUrl(o), {mode: "cors", credentials: "omit", signal: ctl ? ctl.signal : undefined})
      .then(function (r) {
        if (!r.ok) { var e = new Error("HTTP " + r.status); e.status = r.status; throw e; }
        return r.json();
      })
      .then(function (doc) {
        if (!doc || !Array.isArray(doc.items)) throw new Error("unexpected response");
        var items = doc.items.slice(0, o.limit);
        if (!items.length) {
          var empty = el("p", "empty", o.words.empty);
          empty.setAttribute("lang", o.ui);
          empty.setAttribute("dir", rtl(o.ui) ? "rtl" : "ltr");
          show(root, empty);
          host.setAttribute("data-feedsvc-state", "ready");
          return;
        }
        for (var i = 0; i < items.length; i++) list.appendChild(item(items[i] || {}, o));
        list.removeAttribute("aria-busy");
        host.setAttribute("data-feedsvc-state", "ready");
      })
      .catch(function (e) {
        fallback(root, o, e && (e.status === 400 || e.status === 404));
        host.setAttribute("data-feedsvc-state", "failed");
      })
      .then(function () { if (timer) clearTimeout(timer); });
  }

  function scan() {
    var hosts = document.querySelectorAll("[data-feedsvc]");
    for (var i = 0; i < hosts.length; i++) {
      try { fill(hosts[i]); } catch (e) { /* one broken widget never breaks the others or the page */ }
    }
  }

  window.feedsvcEmbed = {origin: ORIGIN, scan: scan};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
