// Sopixi platform: cookie consent (accept and refuse equally easy, remembered, changeable from
// the "cookie settings" link) and the age gate. Scripts a partner marks
// <script type="text/plain" data-consent="..."> run only after acceptance.
(function () {
  "use strict";
  var KEY = "sopixi-consent";
  var root = document.getElementById("sopixi-platform");
  if (!root) return;
  var notice = root.querySelector("[data-sopixi-notice]");
  function stored() { try { return localStorage.getItem(KEY); } catch (e) { return null; } }
  function store(v) { try { localStorage.setItem(KEY, v); } catch (e) {} }
  function runConsented() {
    var pending = document.querySelectorAll('script[type="text/plain"][data-consent]');
    for (var i = 0; i < pending.length; i++) {
      var old = pending[i], s = document.createElement("script");
      for (var j = 0; j < old.attributes.length; j++) {
        var a = old.attributes[j];
        if (a.name !== "type") s.setAttribute(a.name, a.value);
      }
      s.text = old.text;
      old.parentNode.replaceChild(s, old);
    }
  }
  // While the notice is open, the platform block grows by the notice's height, so that scrolled
  // to the bottom of the page the badge sits above the notice, never under it.
  function show() { notice.classList.add("sopixi-open"); root.style.setProperty("padding-bottom", (notice.offsetHeight + 72) + "px", "important"); }
  function hide() { notice.classList.remove("sopixi-open"); root.style.removeProperty("padding-bottom"); }
  root.querySelector("[data-sopixi-accept]").addEventListener("click", function () { store("accepted"); hide(); runConsented(); });
  root.querySelector("[data-sopixi-refuse]").addEventListener("click", function () { store("refused"); hide(); });
  root.querySelector("[data-sopixi-settings]").addEventListener("click", show);
  var choice = stored();
  if (choice === "accepted") runConsented(); else if (choice !== "refused") show();

  var gate = document.getElementById("sopixi-age-gate");
  if (gate) {
    var html = document.documentElement;
    var ok = false;
    try { ok = sessionStorage.getItem("sopixi-adult") === "yes"; } catch (e) {}
    if (ok) { html.classList.add("sopixi-adult-ok"); } else { html.classList.add("sopixi-gated"); }
    gate.querySelector("[data-sopixi-age-confirm]").addEventListener("click", function () {
      try { sessionStorage.setItem("sopixi-adult", "yes"); } catch (e) {}
      html.classList.remove("sopixi-gated");
      html.classList.add("sopixi-adult-ok");
    });
  }
  // Set up: tests (and anyone checking the page) can tell the notice and gate are in place.
  root.setAttribute("data-sopixi-ready", "");
})();
