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
  function show() { notice.classList.add("sopixi-open"); }
  function hide() { notice.classList.remove("sopixi-open"); }
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
})();
