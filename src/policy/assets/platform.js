// Sopixi platform: the badge, the cookie consent (accept and refuse equally easy, remembered,
// changeable from the "cookie settings" button) and the age gate, made so that no page can hide
// them. Scripts a partner marks <script type="text/plain" data-consent="..."> run only after
// acceptance, and embeds (`data-consent` + `data-embed-src`: YouTube, Vimeo, OpenStreetMap …)
// load their frame only once the visitor accepts their provider — in the notice, which lists the
// providers of the page, or with the embed's own button. `C` (set by the build from the platform policy, before this code) holds the badge
// link, the logo, the colours and the texts, so that the elements can be rebuilt even when a page
// removed the markup they came in.
//
// Defences, each against a way a page could hide the elements:
// - each element lives in a shadow root whose styles reset every inherited or page property
//   (`:host` rules marked !important win over any page rule, even !important inline styles);
// - its host is a manual popover shown in the top layer: above every z-index, outside every
//   ancestor's opacity, transform, clip and overflow; it is raised again whenever the page opens
//   a popover, a modal dialog or a full-screen element of its own;
// - the host is a child of <html>, not of <body>: hiding or emptying the body leaves it alone
//   (while the page shows a modal dialog, it moves into the dialog, the only part not inert);
// - what on the root element itself would take everything along (`display: none`, `hidden`,
//   `content-visibility`, `inert`, `interactivity: inert`) is undone on it, whenever it changes;
// - removed, moved, re-attributed or emptied, the host and its contents are put back;
// - a page zoom is counter-zoomed, so the badge keeps its size.
(function (C) {
  "use strict";
  var KEY = "sopixi-consent", PKEY = "sopixi-consent-providers";
  var NAMES = { youtube: "YouTube", vimeo: "Vimeo", openstreetmap: "OpenStreetMap" };
  var d = document, html = d.documentElement;
  var root = d.getElementById("sopixi-platform");
  var lang = ((root && root.getAttribute("lang")) || html.getAttribute("lang") || "").split(/[-_]/)[0].toLowerCase();
  var T = C.texts[lang] || C.texts.en || C.texts[Object.keys(C.texts)[0]];
  // The texts of the page's own block, when it is there (they are in the page's language).
  function textOf(sel, fallback) {
    var e = root && root.querySelector(sel);
    var s = e && e.textContent.trim();
    return s || fallback;
  }
  T = {
    settings: textOf("[data-sopixi-settings]", T.settings),
    message: textOf("[data-sopixi-notice] p", T.message),
    accept: textOf("[data-sopixi-accept]", T.accept),
    refuse: textOf("[data-sopixi-refuse]", T.refuse),
    providers: T.providers || (C.texts.en && C.texts.en.providers) || "",
    age_warning: T.age_warning,
    age_confirm: T.age_confirm,
    label: (function () {
      var b = root && root.querySelector("[data-sopixi-badge]");
      return (b && b.getAttribute("aria-label")) || T.label || C.label;
    })()
  };
  var staticGate = d.getElementById("sopixi-age-gate");
  if (staticGate) {
    var w = staticGate.querySelector("p"), b = staticGate.querySelector("button");
    if (w && w.textContent.trim()) T.age_warning = w.textContent.trim();
    if (b && b.textContent.trim()) T.age_confirm = b.textContent.trim();
  }
  var adult = !!staticGate || !!d.querySelector('meta[name="rating"][content="adult" i]');

  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
  function stored() { try { return localStorage.getItem(KEY); } catch (e) { return null; } }
  function store(v) { try { localStorage.setItem(KEY, v); } catch (e) {} }
  // Providers accepted one by one (the embed's button, the notice's boxes).
  function accepted() {
    try { var v = JSON.parse(localStorage.getItem(PKEY) || "[]"); return Array.isArray(v) ? v : []; } catch (e) { return []; }
  }
  function storeAccepted(list) { try { localStorage.setItem(PKEY, JSON.stringify(list)); } catch (e) {} }
  function allowed(name) { return stored() === "accepted" || accepted().indexOf(name) >= 0; }
  // The providers this page uses, in the order they come: [{id, name}].
  function used() {
    var out = [], seen = {}, els = d.querySelectorAll("[data-consent]");
    for (var i = 0; i < els.length; i++) {
      var id = els[i].getAttribute("data-consent");
      if (!id || seen[id]) continue;
      seen[id] = true;
      out.push({ id: id, name: els[i].getAttribute("data-embed-name") || NAMES[id] || id });
    }
    return out;
  }
  // An embed's frame, in place of its placeholder.
  function loadEmbed(el) {
    if (el.hasAttribute("data-embed-loaded")) return;
    var src = el.getAttribute("data-embed-src");
    if (!/^https:\/\//.test(src || "")) return;
    var f = d.createElement("iframe");
    f.src = src;
    f.title = el.getAttribute("data-embed-title") || "";
    f.setAttribute("allow", "accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; fullscreen");
    f.setAttribute("allowfullscreen", "");
    f.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
    f.style.cssText = "position:absolute;top:0;left:0;width:100%;height:100%;border:0";
    var ph = el.querySelector("[data-embed-placeholder]");
    if (ph) ph.replaceWith(f); else el.appendChild(f);
    el.setAttribute("data-embed-loaded", "");
  }
  function runConsented() {
    var embeds = d.querySelectorAll("[data-consent][data-embed-src]");
    for (var k = 0; k < embeds.length; k++) {
      if (allowed(embeds[k].getAttribute("data-consent"))) loadEmbed(embeds[k]);
    }
    var pending = d.querySelectorAll('script[type="text/plain"][data-consent]');
    for (var i = 0; i < pending.length; i++) {
      if (!allowed(pending[i].getAttribute("data-consent"))) continue;
      var old = pending[i], s = d.createElement("script");
      for (var j = 0; j < old.attributes.length; j++) {
        var a = old.attributes[j];
        if (a.name !== "type") s.setAttribute(a.name, a.value);
      }
      s.text = old.text;
      old.parentNode.replaceChild(s, old);
    }
  }

  // Every property a page could use to hide, shrink, move or clip the host, reset.
  var HOST = "all:initial!important;display:block!important;margin:0!important;border:0!important;padding:0!important;" +
    "background:transparent!important;overflow:visible!important;opacity:1!important;visibility:visible!important;" +
    "transform:none!important;translate:none!important;scale:none!important;rotate:none!important;filter:none!important;" +
    "backdrop-filter:none!important;clip-path:none!important;mask:none!important;contain:none!important;" +
    "content-visibility:visible!important;pointer-events:auto!important;z-index:2147483647!important;" +
    "min-width:0!important;min-height:0!important;max-width:none!important;max-height:none!important;" +
    "color-scheme:light!important;direction:ltr!important;writing-mode:horizontal-tb!important;" +
    "font:13px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif!important;color:" + C.colors.text + "!important;";
  var BADGE_CSS = ":host{" + HOST + "position:fixed!important;inset:auto 8px 8px auto!important;width:auto!important;height:auto!important}" +
    "*{all:revert;box-sizing:border-box}" +
    ".bar{display:flex;align-items:center;gap:8px;padding:4px 10px 4px 6px;background:" + C.colors.background + ";color:" + C.colors.text +
    ";border:1px solid rgba(0,0,0,.18);border-radius:999px;box-shadow:0 1px 6px rgba(0,0,0,.18);font:inherit}" +
    "a{display:block;line-height:0;border-radius:4px}" +
    "img{display:block;width:72px;height:20px}" +
    "a:focus-visible,button:focus-visible{outline:3px solid " + C.colors.accent + ";outline-offset:2px}" +
    ".settings{all:unset;cursor:pointer;text-decoration:underline;font:inherit;color:inherit}" +
    ".notice{display:none;position:fixed;left:8px;right:8px;bottom:48px;max-width:560px;margin:0 auto;background:" + C.colors.background +
    ";color:" + C.colors.text + ";border:1px solid " + C.colors.text + ";border-radius:8px;padding:12px;box-shadow:0 4px 16px rgba(0,0,0,.2);font:inherit}" +
    ".notice.open{display:block}.notice p{margin:0 0 8px}" +
    // A page naming many providers scrolls its list: the buttons stay in view.
    ".notice ul{margin:0 0 8px;padding:0;list-style:none;max-height:30vh;overflow:auto}.notice li{margin:2px 0}" +
    ".notice label{display:inline-flex;gap:6px;align-items:center;cursor:pointer}" +
    ".notice button{all:unset;cursor:pointer;display:inline-block;min-width:96px;text-align:center;padding:8px 12px;margin:4px 8px 0 0;border-radius:6px;border:1px solid " +
    C.colors.text + ";font:inherit;font-weight:600}" +
    ".notice [data-sopixi-accept]{background:" + C.colors.text + ";color:" + C.colors.background + "}" +
    ".notice [data-sopixi-refuse]{background:" + C.colors.background + ";color:" + C.colors.text + "}";
  var GATE_CSS = ":host{" + HOST + "position:fixed!important;inset:0!important;width:auto!important;height:auto!important;" +
    "z-index:2147483646!important;background:#111!important;color:#fff!important;font-size:16px!important}" +
    "*{all:revert;box-sizing:border-box}" +
    ".gate{position:absolute;inset:0;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:12px;padding:16px;text-align:center;font:inherit;color:#fff}" +
    "button{all:unset;cursor:pointer;padding:10px 16px;border-radius:6px;background:#f5b700;color:#111;font-weight:700}" +
    "button:focus-visible{outline:3px solid #fff;outline-offset:2px}";

  var noticeOpen = false;
  var gated = false;
  function badgeMarkup() {
    return "<style>" + BADGE_CSS + "</style><div class=\"bar\" part=\"none\">" +
      "<a data-sopixi-badge href=\"" + esc(C.url) + "\" aria-label=\"" + esc(T.label) + "\"><img src=\"" + esc(C.logo) + "\" alt=\"Sopixi\" width=\"72\" height=\"20\"></a>" +
      "<button type=\"button\" class=\"settings\" data-sopixi-settings>" + esc(T.settings) + "</button></div>" +
      "<div class=\"notice" + (noticeOpen ? " open" : "") + "\" data-sopixi-notice role=\"dialog\" aria-label=\"" + esc(T.settings) + "\"><p>" + esc(T.message) +
      "</p>" + providerList() + "<button type=\"button\" data-sopixi-accept>" + esc(T.accept) + "</button> <button type=\"button\" data-sopixi-refuse>" + esc(T.refuse) + "</button></div>";
  }
  // The page's providers, each with a box: ticked when accepted.
  function providerList() {
    var list = used();
    if (!list.length) return "";
    var out = "<p>" + esc(T.providers) + "</p><ul>";
    for (var i = 0; i < list.length; i++) {
      out += "<li><label><input type=\"checkbox\" data-sopixi-provider=\"" + esc(list[i].id) + "\"" + (allowed(list[i].id) ? " checked" : "") +
        "> " + esc(list[i].name) + "</label></li>";
    }
    return out + "</ul>";
  }
  function gateMarkup() {
    return "<style>" + GATE_CSS + "</style><div class=\"gate\" role=\"dialog\" aria-modal=\"true\"><p>" + esc(T.age_warning) +
      "</p><button type=\"button\" data-sopixi-age-confirm>" + esc(T.age_confirm) + "</button></div>";
  }

  // A shielded element: `tag` in <html>, with an open shadow root holding `markup()`.
  function Shield(tag, markup, wire) {
    this.host = d.createElement(tag);
    this.shadow = this.host.attachShadow({ mode: "open" });
    this.markup = markup;
    this.wire = wire;
    this.render();
  }
  Shield.prototype.render = function () {
    this.shadow.innerHTML = this.markup();
    this.wire(this.shadow);
    this.expected = this.shadow.innerHTML;
  };
  Shield.prototype.attributes = function () {
    var h = this.host;
    for (var i = h.attributes.length - 1; i >= 0; i--) {
      var n = h.attributes[i].name;
      if (n !== "popover" && n !== "data-sopixi-host") h.removeAttribute(n);
    }
    if (h.getAttribute("popover") !== "manual") h.setAttribute("popover", "manual");
    if (!h.hasAttribute("data-sopixi-host")) h.setAttribute("data-sopixi-host", "");
  };
  // Where the hosts belong: in <html>; while the page shows a modal dialog, in that dialog
  // (everything outside a modal dialog is inert: it could not be clicked).
  function home() {
    var modal = null;
    try {
      var open = d.querySelectorAll("dialog:modal");
      modal = open.length ? open[open.length - 1] : null;
    } catch (e) {}
    return modal || d.documentElement;
  }
  // Puts the host back where it belongs, as it was; true when something had to be repaired.
  Shield.prototype.repair = function () {
    var h = this.host, fixed = false;
    var top = home();
    if (h.parentNode !== top) { top.appendChild(h); fixed = true; }
    if (h.attributes.length !== 2 || h.getAttribute("popover") !== "manual" || !h.hasAttribute("data-sopixi-host")) { this.attributes(); fixed = true; }
    if (this.shadow.innerHTML !== this.expected) { this.render(); fixed = true; }
    if (!h.matches(":popover-open")) { this.show(); fixed = true; }
    return fixed;
  };
  Shield.prototype.show = function () { try { this.host.showPopover(); } catch (e) {} };
  Shield.prototype.raise = function () {
    try { if (this.host.matches(":popover-open")) this.host.hidePopover(); } catch (e) {}
    this.show();
  };
  Shield.prototype.remove = function () {
    try { this.host.hidePopover(); } catch (e) {}
    if (this.host.parentNode) this.host.parentNode.removeChild(this.host);
  };

  var shields = [];
  var gate = null, badge = null;

  function setNotice(open) {
    noticeOpen = open;
    var n = badge.shadow.querySelector("[data-sopixi-notice]");
    if (n) n.classList.toggle("open", open);
    badge.expected = badge.shadow.innerHTML;
  }
  // The boxes of the notice: ticked ones accepted, the others not (other pages' providers kept).
  function boxes(sr, value) {
    var inputs = sr.querySelectorAll("[data-sopixi-provider]");
    for (var i = 0; i < inputs.length; i++) inputs[i].checked = value;
  }
  function chooseProviders(sr) {
    var inputs = sr.querySelectorAll("[data-sopixi-provider]"), list = accepted(), was = stored() === "accepted";
    var here = used();
    if (was) for (var j = 0; j < here.length; j++) if (list.indexOf(here[j].id) < 0) list.push(here[j].id);
    for (var i = 0; i < inputs.length; i++) {
      var id = inputs[i].getAttribute("data-sopixi-provider"), at = list.indexOf(id);
      if (inputs[i].checked && at < 0) list.push(id);
      if (!inputs[i].checked && at >= 0) list.splice(at, 1);
    }
    storeAccepted(list);
    store("custom");
    runConsented();
  }
  badge = new Shield("sopixi-badge", badgeMarkup, function (sr) {
    sr.querySelector("[data-sopixi-accept]").addEventListener("click", function () { store("accepted"); boxes(sr, true); setNotice(false); runConsented(); });
    sr.querySelector("[data-sopixi-refuse]").addEventListener("click", function () { store("refused"); storeAccepted([]); boxes(sr, false); setNotice(false); });
    var inputs = sr.querySelectorAll("[data-sopixi-provider]");
    for (var i = 0; i < inputs.length; i++) inputs[i].addEventListener("change", function () { chooseProviders(sr); });
    sr.querySelector("[data-sopixi-settings]").addEventListener("click", function () { setNotice(true); });
  });

  if (adult) {
    var ok = false;
    try { ok = sessionStorage.getItem("sopixi-adult") === "yes"; } catch (e) {}
    if (!ok) {
      gated = true;
      html.classList.add("sopixi-gated");
      gate = new Shield("sopixi-gate", gateMarkup, function (sr) {
        sr.querySelector("[data-sopixi-age-confirm]").addEventListener("click", function () {
          try { sessionStorage.setItem("sopixi-adult", "yes"); } catch (e) {}
          gated = false;
          shields = [badge];
          gate.remove();
          if (d.body) d.body.inert = false;
          html.classList.remove("sopixi-gated");
          html.classList.add("sopixi-adult-ok");
        });
      });
      shields.push(gate);
    } else {
      html.classList.add("sopixi-adult-ok");
    }
  }
  shields.push(badge);

  // The page's own zoom (CSS `zoom` on <html>) and the phone's zooming out of a page laid out
  // wider than the screen (no viewport meta tag, or a hostile one) are undone on the hosts, so
  // that the badge keeps its size on the screen.
  function unzoom() {
    var z = typeof html.currentCSSZoom === "number" ? html.currentCSSZoom : 1;
    var vv = window.visualViewport;
    if (vv && vv.scale > 0 && vv.scale < 1) z *= vv.scale;
    for (var i = 0; i < shields.length; i++) {
      var want = z > 0 && Math.abs(z - 1) > 0.001 ? String(1 / z) : "";
      var st = shields[i].shadow.querySelector("style");
      var rule = ":host{zoom:" + (want || "1") + "!important}";
      if (st && st.textContent.indexOf(rule) < 0) {
        st.textContent = st.textContent.replace(/:host\{zoom:[^}]*\}/, "") + rule;
        shields[i].expected = shields[i].shadow.innerHTML;
      }
    }
  }

  // The hosts live in <html>: whatever would hide, skip or deaden everything in it is taken off
  // the root element itself (its inline style wins over any stylesheet, layered or not). The
  // page keeps its own look: only what takes the platform's elements along is undone.
  function freeRoot() {
    var r = d.documentElement;
    if (r.inert) r.inert = false;
    if (r.hidden) r.hidden = false;
    var cs = getComputedStyle(r), s = r.style;
    if (cs.display === "none" || cs.display === "contents") s.setProperty("display", "block", "important");
    if (cs.contentVisibility && cs.contentVisibility !== "visible") s.setProperty("content-visibility", "visible", "important");
    if (cs.interactivity && cs.interactivity !== "auto") s.setProperty("interactivity", "auto", "important");
  }

  // Repairs are counted: a page that keeps undoing them is slowed down, never looped with.
  var repairs = 0, since = Date.now(), pending = false;
  function guard() {
    pending = false;
    if (Date.now() - since > 1000) { repairs = 0; since = Date.now(); }
    var any = false;
    for (var i = 0; i < shields.length; i++) {
      if (shields[i].repair()) {
        any = true;
        // The gate was shown again: the badge goes back above it.
        if (shields[i] === gate) badge.raise();
      }
    }
    if (gated && d.body && !d.body.inert) d.body.inert = true;
    freeRoot();
    unzoom();
    if (any && ++repairs > 50) { pending = true; setTimeout(guard, 250); }
  }
  function soon() { if (!pending) { pending = true; Promise.resolve().then(guard); } }
  function raiseAll() {
    for (var i = 0; i < shields.length; i++) shields[i].raise();
  }
  guard();
  var watch = new MutationObserver(function (records) {
    for (var i = 0; i < records.length; i++) {
      var r = records[i];
      if (r.target === d || r.target === d.documentElement || r.type === "attributes" || r.target.getRootNode() !== d) { soon(); return; }
    }
  });
  function observe() {
    watch.observe(d, { childList: true });
    watch.observe(d.documentElement, { childList: true, attributes: true, attributeFilter: ["style", "class", "inert", "hidden"] });
    for (var i = 0; i < shields.length; i++) {
      watch.observe(shields[i].host, { attributes: true });
      watch.observe(shields[i].shadow, { childList: true, subtree: true, attributes: true, characterData: true });
    }
  }
  observe();
  // Another popover, modal dialog or full-screen element opened by the page goes above the
  // hosts in the top layer: raise them back above it.
  d.addEventListener("toggle", function (e) {
    if (e.newState === "open" && shields.every(function (s) { return s.host !== e.target; })) { raiseAll(); soon(); }
    else if (e.newState === "closed") soon();
  }, true);
  d.addEventListener("fullscreenchange", raiseAll, true);
  if (window.visualViewport) window.visualViewport.addEventListener("resize", unzoom);
  // And a check, four times a second, for whatever no event tells (a modal dialog opened, a
  // page script swapping <html>).
  setInterval(function () { guard(); observe(); }, 250);

  if (gated && d.body) d.body.inert = true;
  if (root) root.classList.add("sopixi-live");
  var choice = stored();
  runConsented();
  if (choice === null) setNotice(true);
  // An embed's own button accepts its provider (remembered, changeable in the notice).
  d.addEventListener("click", function (e) {
    var b = e.target && e.target.closest ? e.target.closest("[data-embed-load]") : null;
    var el = b && b.closest("[data-consent][data-embed-src]");
    if (!el) return;
    var id = el.getAttribute("data-consent"), list = accepted();
    if (list.indexOf(id) < 0) list.push(id);
    storeAccepted(list);
    if (stored() === null) store("custom");
    setNotice(false);
    runConsented();
    badge.render();
  });
  // Set up: tests (and anyone checking the page) can tell the elements are in place.
  if (root) root.setAttribute("data-sopixi-ready", "");
  html.setAttribute("data-sopixi-ready", "");
})(/*config*/);
