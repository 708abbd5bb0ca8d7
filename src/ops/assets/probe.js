// `sopixi check --browser`: the state of the platform elements in the page, as the visitor has
// them. Run as a WebDriver script with arguments (where, badge URL, minimum height, adult):
// `where` is "top" (scrolled to the top) or "bottom" (scrolled to the end). Returns the problems
// of the badge, the notice and the gate, the badge's logo box (for the screenshot check) and
// whether the notice is open.
const [where, url, minPx, adult] = arguments;
const d = document;
window.scrollTo(0, where === "bottom" ? d.documentElement.scrollHeight : 0);
// What the screen shows: the visual viewport (a phone zooms out of a page laid out wider than
// the screen), in CSS pixels, and its scale to screen pixels.
const vv = window.visualViewport || { offsetLeft: 0, offsetTop: 0, width: innerWidth, height: innerHeight, scale: 1 };
const W = innerWidth, H = innerHeight;
function onScreen(r) {
  return { left: (r.left - vv.offsetLeft) * vv.scale, top: (r.top - vv.offsetTop) * vv.scale,
           width: r.width * vv.scale, height: r.height * vv.scale,
           right: (r.right - vv.offsetLeft) * vv.scale, bottom: (r.bottom - vv.offsetTop) * vv.scale };
}
const SW = vv.width * vv.scale, SH = vv.height * vv.scale;
// The element a click at (x, y) reaches, through open shadow roots.
function deepAt(x, y) {
  let e = d.elementFromPoint(x, y);
  while (e && e.shadowRoot) {
    const inner = e.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === e) break;
    e = inner;
  }
  return e;
}
function describe(e) {
  if (!e) return "nothing";
  const host = e.getRootNode && e.getRootNode().host;
  const s = e.outerHTML || String(e);
  return (host ? "<" + host.localName + "> " : "") + s.slice(0, 100);
}
function within(outer, e) {
  for (; e; e = e.parentNode || (e.host || null)) if (e === outer) return true;
  return false;
}
const host = d.querySelector("sopixi-badge[data-sopixi-host]");
const shadow = host && host.shadowRoot;
const badge = shadow ? shadow.querySelector("a[data-sopixi-badge]") : d.querySelector("#sopixi-platform a[data-sopixi-badge]");
const out = { badge: [], notice: [], gate: [], logo: null, noticeOpen: null };
if (!host && d.documentElement.hasAttribute("data-sopixi-ready")) out.badge.push("the platform script ran, but the page keeps removing its elements");
else if (!host) out.badge.push("the platform script did not run (blocked, removed or failing): only the page's own markup is there");
if (!badge) {
  out.badge.push("not in the page");
} else {
  const img = badge.querySelector("img");
  const r = (img || badge).getBoundingClientRect(), s = onScreen(r);
  out.logo = { x: s.left, y: s.top, w: s.width, h: s.height };
  if (badge.href !== url) out.badge.push("links to " + badge.href + ", not " + url);
  if (!img || !img.complete || !img.naturalWidth) out.badge.push("its logo did not load");
  if (s.height < minPx) out.badge.push(s.height.toFixed(1) + " px tall on the screen, less than " + minPx);
  if (r.width < 1 || r.height < 1) {
    out.badge.push("has no size");
  } else {
    if (s.top < -0.5 || s.left < -0.5 || s.bottom > SH + 0.5 || s.right > SW + 0.5) {
      out.badge.push("outside the viewport (" + [s.left, s.top, s.right, s.bottom].map(Math.round).join(",") + " in " + Math.round(SW) + "x" + Math.round(SH) + ")");
    }
    const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
    const hit = deepAt(cx, cy);
    if (!within(badge, hit)) out.badge.push("covered at its centre by " + describe(hit));
  }
  // Opacity is judged on the screenshot: an element of the top layer is not under its DOM
  // ancestors' opacity, which checkVisibility would count.
  if (badge.checkVisibility && !badge.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true })) {
    out.badge.push("hidden (display or visibility)");
  }
}
if (where === "top") {
  const notice = shadow && shadow.querySelector("[data-sopixi-notice]");
  if (!notice) {
    out.notice.push("not there: the platform script did not run, so it cannot be answered");
  } else {
    const open = notice.checkVisibility({ visibilityProperty: true });
    out.noticeOpen = open;
    if (!open) out.notice.push("not shown on a first visit");
    else {
      for (const sel of ["[data-sopixi-accept]", "[data-sopixi-refuse]"]) {
        const b = notice.querySelector(sel), r = b.getBoundingClientRect(), s = onScreen(r);
        if (s.left < -0.5 || s.right > SW + 0.5 || s.top < -0.5 || s.bottom > SH + 0.5) out.notice.push(sel + " button outside the viewport");
        const hit = deepAt(r.left + r.width / 2, r.top + r.height / 2);
        if (!within(b, hit)) out.notice.push(sel + " button covered by " + describe(hit));
      }
    }
  }
  const gateHost = d.querySelector("sopixi-gate[data-sopixi-host]");
  if (adult) {
    if (!gateHost) out.gate.push("no age gate over this adult page (the platform script did not run or it was removed)");
    else {
      // Every point of a grid lands on the gate (or on the badge and notice above it).
      for (const fx of [0.1, 0.5, 0.9]) for (const fy of [0.1, 0.5, 0.9]) {
        const x = W * fx, y = H * fy, hit = deepAt(x, y);
        if (!within(gateHost, hit) && !within(host, hit)) {
          out.gate.push("the page shows through at (" + Math.round(x) + "," + Math.round(y) + "): " + describe(hit));
          break;
        }
      }
      if (d.body && !d.body.inert) out.gate.push("the page under the gate can still be reached with the keyboard");
    }
  }
}
return out;
