//! The platform elements in a real browser (headless Debian Chromium over WebDriver): the badge
//! is visible and clickable at phone and desktop sizes, the cookie notice's choices hide it and
//! persist, consent-gated scripts wait for acceptance, and the age gate blocks adult pages.

use serde_json::Value;

use crate::support::browser::{Browser, StaticServer};
use crate::support::SiteTest;

/// The fixture site with a page holding a consent-gated script and an adult section, built.
fn site() -> SiteTest {
    let t = SiteTest::new("blog");
    t.write(
        "content/stats.md",
        "---\ntitle: Stats\n---\nVisitor statistics.\n\n<script type=\"text/plain\" data-consent=\"analytics\">document.documentElement.dataset.tracked = (document.documentElement.dataset.tracked || '') + 'x';</script>\n",
    );
    t.write("content/long.md", &format!("---\ntitle: Long\n---\n{}", "A paragraph of text.\n\n".repeat(80)));
    t.write("content/members/_index.md", "---\ntitle: Members\nadult: true\n---\n");
    t.write("content/members/inside.md", "---\ntitle: Inside the club\n---\nAdults only text.\n");
    t.build();
    t
}

/// Whether the badge, scrolled to the bottom of the page, is on screen, not covered, and links to
/// the platform: `document.elementFromPoint` at its centre must be the badge (or its logo).
/// The badge lives in the shadow root of `<sopixi-badge>`, a child of `<html>` in the top layer;
/// the hit test goes through that root.
const BADGE_STATE: &str = r#"
window.scrollTo(0, document.documentElement.scrollHeight);
const host = document.querySelector('html > sopixi-badge');
const a = host.shadowRoot.querySelector('a[data-sopixi-badge]');
const r = a.getBoundingClientRect();
const x = r.left + r.width / 2, y = r.top + r.height / 2;
const outer = document.elementFromPoint(x, y);
const hit = outer === host ? host.shadowRoot.elementFromPoint(x, y) : outer;
return {w: r.width, h: r.height, inView: r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth,
        onTop: !!hit && hit.closest('a[data-sopixi-badge]') === a, href: a.href,
        hitWas: hit ? hit.outerHTML.slice(0, 80) : null};
"#;

const NOTICE_OPEN: &str =
    "const n = document.querySelector('html > sopixi-badge').shadowRoot.querySelector('[data-sopixi-notice]'); \
    return getComputedStyle(n).display !== 'none';";

fn assert_badge_ok(b: &Browser, when: &str) {
    let s = b.js(BADGE_STATE);
    assert!(s["w"].as_f64().unwrap() > 0.0 && s["h"].as_f64().unwrap() > 0.0, "{when}: badge has no box: {s}");
    assert_eq!(s["inView"], Value::Bool(true), "{when}: badge off screen: {s}");
    assert_eq!(s["onTop"], Value::Bool(true), "{when}: badge covered: {s}");
    assert_eq!(s["href"], "https://sopixi.com/", "{when}: {s}");
}

#[test]
fn badge_is_visible_and_uncovered_at_phone_and_desktop_sizes() {
    let t = site();
    let server = StaticServer::start(&t.path("public"));
    for (w, h) in [(375, 667), (1280, 800), (320, 568)] {
        let b = Browser::start(w, h);
        for page in ["/", "/about/", "/long/"] {
            b.goto(&server.url(page));
            assert_eq!(b.js(NOTICE_OPEN), Value::Bool(true), "{w}x{h} {page}: notice not shown on first visit");
            // Even with the notice open, the badge at the bottom of the page is not under it.
            assert_badge_ok(&b, &format!("{w}x{h} {page}, notice open"));
            // Both choices fit on the smallest screen.
            let fits = b.js("return [...document.querySelector('html > sopixi-badge').shadowRoot.querySelectorAll('[data-sopixi-notice] button')].every(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= innerWidth; });");
            assert_eq!(fits, Value::Bool(true), "{w}x{h} {page}: notice buttons do not fit");
        }
        b.click("[data-sopixi-refuse]");
        assert_badge_ok(&b, &format!("{w}x{h} after refusing"));
        b.goto(&server.url("/about/"));
        assert_badge_ok(&b, &format!("{w}x{h} next page"));
        // A real click on the badge reaches it (the platform URL is not reachable here, so the
        // navigation itself is not followed: the click must simply not be intercepted).
        b.js("document.querySelector('html > sopixi-badge').shadowRoot.querySelector('a[data-sopixi-badge]').addEventListener('click', e => { e.preventDefault(); document.documentElement.dataset.badgeClicked = '1'; });");
        b.click("a[data-sopixi-badge]");
        assert_eq!(b.js("return document.documentElement.dataset.badgeClicked || null"), "1", "{w}x{h}");
    }
}

#[test]
fn accept_and_refuse_hide_the_notice_and_persist_across_reloads() {
    let t = site();
    let server = StaticServer::start(&t.path("public"));
    let b = Browser::start(375, 667);
    b.goto(&server.url("/about/"));
    assert_eq!(b.js(NOTICE_OPEN), Value::Bool(true));
    b.click("[data-sopixi-accept]");
    assert_eq!(b.js(NOTICE_OPEN), Value::Bool(false), "accept hides the notice");
    b.reload();
    assert_eq!(b.js(NOTICE_OPEN), Value::Bool(false), "accepted: not shown again after reload");
    b.goto(&server.url("/blog/"));
    assert_eq!(b.js(NOTICE_OPEN), Value::Bool(false), "accepted: not shown on another page");
    // The "cookie settings" link beside the badge reopens it; refusing is one click too.
    b.click("[data-sopixi-settings]");
    assert_eq!(b.js(NOTICE_OPEN), Value::Bool(true), "settings reopen the notice");
    b.click("[data-sopixi-refuse]");
    assert_eq!(b.js(NOTICE_OPEN), Value::Bool(false), "refuse hides the notice");
    b.reload();
    assert_eq!(b.js(NOTICE_OPEN), Value::Bool(false), "refused: not shown again after reload");
    assert_eq!(b.js("return localStorage.getItem('sopixi-consent')"), "refused");
}

#[test]
fn consent_gated_scripts_run_only_after_acceptance() {
    let t = site();
    assert!(t.read("stats/index.html").contains("data-consent"), "the gated script is in the page");
    let server = StaticServer::start(&t.path("public"));
    let b = Browser::start(1280, 800);
    let ran = "return document.documentElement.dataset.tracked || null";
    b.goto(&server.url("/stats/"));
    assert_eq!(b.js(ran), Value::Null, "no choice yet: the script must not run");
    b.click("[data-sopixi-refuse]");
    assert_eq!(b.js(ran), Value::Null, "refused: the script must not run");
    b.reload();
    assert_eq!(b.js(ran), Value::Null, "refused, reloaded: the script must not run");
    b.click("[data-sopixi-settings]");
    b.click("[data-sopixi-accept]");
    assert_eq!(b.js(ran), "x", "accepted: the script runs once");
    b.reload();
    assert_eq!(b.js(ran), "x", "accepted earlier: the script runs on load, once");
}

#[test]
fn the_age_gate_blocks_adult_pages_until_confirmed() {
    let t = site();
    let server = StaticServer::start(&t.path("public"));
    let b = Browser::start(375, 667);
    // Ordinary pages have no gate.
    b.goto(&server.url("/about/"));
    assert_eq!(
        b.js("return !!document.getElementById('sopixi-age-gate') || !!document.querySelector('sopixi-gate')"),
        Value::Bool(false)
    );
    b.goto(&server.url("/members/inside/"));
    let probe = r#"
const h = document.querySelector('h1'); const r = h.getBoundingClientRect();
const hit = document.elementFromPoint(r.left + Math.min(r.width, 100) / 2, r.top + r.height / 2);
const gate = document.querySelector('html > sopixi-gate');
return {hitGate: !!gate && hit === gate, hitTitle: hit === h,
        contentVisible: getComputedStyle(h).visibility === 'visible' && !document.body.inert,
        gateShown: !!gate && gate.matches(':popover-open')};
"#;
    let s = b.js(probe);
    assert_eq!(s["gateShown"], Value::Bool(true), "{s}");
    assert_eq!(s["hitGate"], Value::Bool(true), "the gate covers the content: {s}");
    assert_eq!(s["contentVisible"], Value::Bool(false), "the content is hidden: {s}");
    // Clicking where the content is reaches the gate, not the page.
    b.click("[data-sopixi-age-confirm]");
    let s = b.js(probe);
    assert_eq!(s["gateShown"], Value::Bool(false), "{s}");
    assert_eq!(s["hitTitle"], Value::Bool(true), "content reachable after confirming: {s}");
    assert_eq!(s["contentVisible"], Value::Bool(true), "{s}");
    // Confirmed for the visit: another adult page opens directly.
    b.goto(&server.url("/members/"));
    assert_eq!(b.js("return !!document.querySelector('sopixi-gate') || getComputedStyle(document.getElementById('sopixi-age-gate')).display !== 'none'"), Value::Bool(false));
}
