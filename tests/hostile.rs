//! Hostile themes (`tests/fixtures/hostile/`, each laid over the fixture blog's theme): every one
//! either fails `sopixi build` or `sopixi check --browser` with a message naming the file, or
//! renders with the badge, notice and age gate holding in a real headless Chromium. Each test
//! names the defence that catches its theme.

use serde_json::Value;

use crate::support::{copy_dir, fixtures, SiteTest};

/// The fixture blog with `tests/fixtures/hostile/NAME` over its theme, and an adult section.
fn site(name: &str) -> SiteTest {
    let t = SiteTest::new("blog");
    copy_dir(&fixtures().join("hostile").join(name), &t.path("themes/plain"));
    t.write("content/members/_index.md", "---\ntitle: Members\nadult: true\n---\n");
    t.write("content/members/inside.md", "---\ntitle: Inside the club\n---\nAdults only text.\n");
    t
}

/// `sopixi check SITE --browser --json` at `widths`: (exit status, report).
fn browser_check(t: &SiteTest, widths: &str) -> (i32, Value) {
    let root = t.path("").to_string_lossy().into_owned();
    let r = t.run(&["check", root.trim_end_matches('/'), "--browser", "--widths", widths, "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr));
    (r.status, v)
}

fn problems(v: &Value) -> Vec<String> {
    v["browser"]["pages"]
        .as_array()
        .unwrap_or_else(|| panic!("no browser report: {v}"))
        .iter()
        .flat_map(|p| {
            let (file, width) = (p["file"].as_str().unwrap_or("").to_string(), p["width"].clone());
            p["problems"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |x| format!("{file} {width}: {}", x.as_str().unwrap_or("")))
        })
        .collect()
}

/// The theme builds, and the browser finds the platform elements holding on every page opened,
/// adult ones included.
fn holds(name: &str, widths: &str) {
    let t = site(name);
    let (status, v) = browser_check(&t, widths);
    let found = problems(&v);
    assert!(
        found.is_empty() && status == 0,
        "{name}: the elements do not hold (status {status}):\n{}",
        found.join("\n")
    );
    let pages = v["browser"]["pages"].as_array().unwrap();
    let templates: std::collections::BTreeSet<&str> = pages.iter().filter_map(|p| p["template"].as_str()).collect();
    for t in ["index.html", "section.html", "page.html", "404.html"] {
        assert!(templates.contains(t), "{name}: no page of {t} opened: {templates:?}");
    }
    assert!(pages.iter().any(|p| p["adult"] == Value::Bool(true)), "{name}: no adult page opened");
}

/// The build fails with a reserved-name error at `file`:`line`.
fn refused_at_build(name: &str, file: &str, line: u64) {
    let t = site(name);
    let root = t.path("").to_string_lossy().into_owned();
    let r = t.run(&["build", root.trim_end_matches('/'), "--json"]);
    assert_eq!(r.status, 1, "{name}: the build should fail:\n{}\n{}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let errors = v["errors"].as_array().unwrap();
    let hit = errors.iter().find(|e| e["file"].as_str() == Some(file) && e["line"].as_u64() == Some(line));
    let e = hit.unwrap_or_else(|| panic!("{name}: no error at {file}:{line}: {v}"));
    assert!(e["message"].as_str().unwrap().contains("reserved"), "{e}");
    assert_eq!(e["kind"], "platform", "{e}");
}

/// The build passes, and the browser check fails naming the pages, with `what` in the problems.
fn caught_in_browser(name: &str, what: &str) {
    let t = site(name);
    let (status, v) = browser_check(&t, "375");
    assert_eq!(status, 1, "{name}: check --browser should fail: {v}");
    assert_eq!(v["status"], "failed", "{v}");
    let found = problems(&v);
    assert!(
        found.iter().any(|p| p.contains("index.html") && p.contains(what)),
        "{name}: {what:?} not reported:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_full_width_element_over_the_bottom_and_a_transparent_overlay_do_not_cover_the_badge() {
    // Defence: the top layer. Checked at every width of the rule.
    holds("cover", "320,375,768,1280");
}

#[test]
fn a_stylesheet_shrinking_every_element_to_nothing_does_not_shrink_the_badge() {
    // Defence: the shadow root's :host reset (!important rules of a shadow root win).
    holds("shrink", "375");
}

#[test]
fn transparent_invisible_or_hidden_pages_do_not_hide_the_badge() {
    // Defence: the top layer (no ancestor opacity, filter or display) and the host's reset.
    holds("transparent", "375");
}

#[test]
fn a_page_moved_off_screen_and_clipped_does_not_take_the_badge_along() {
    // Defence: the top layer (no ancestor transform, clip or overflow).
    holds("offscreen", "375");
}

#[test]
fn a_page_zoomed_to_a_twentieth_keeps_a_full_size_badge() {
    // Defence: the counter-zoom of the hosts.
    holds("zoom", "375");
}

#[test]
fn a_script_removing_the_elements_popovers_and_shadow_contents_again_and_again_is_undone() {
    // Defence: re-insertion and repair (rate-limited), without the script naming anything.
    holds("remover", "375");
}

#[test]
fn a_script_removing_every_script_before_it_runs_fails_the_browser_check() {
    // Defence: check --browser (the platform script never runs; nothing in the page can help).
    caught_in_browser("script-killer", "the platform script did not run");
}

#[test]
fn a_full_screen_popover_and_a_modal_dialog_opened_by_the_page_go_under_the_badge() {
    // Defence: raising the hosts again above whatever the page opens in the top layer.
    holds("popover", "375,1280");
}

#[test]
fn a_stylesheet_naming_the_platform_block_fails_the_build_at_its_line() {
    // Defence: the reserved-name check of static files.
    refused_at_build("named-css", "themes/plain/static/evil.css", 3);
}

#[test]
fn a_script_in_a_template_naming_the_platform_block_fails_the_build_at_its_line() {
    // Defence: the reserved-name check of templates.
    refused_at_build("named-js", "themes/plain/templates/base.html", 8);
}

#[test]
fn a_template_imitating_the_platform_block_fails_the_build() {
    // Defence: the reserved-name check of templates.
    refused_at_build("fake-badge", "themes/plain/templates/base.html", 8);
}

#[test]
fn a_content_security_policy_blocking_scripts_fails_the_browser_check() {
    // Defence: check --browser (the notice cannot be answered without the platform script).
    caught_in_browser("csp", "the platform script did not run");
}

#[test]
fn a_script_breaking_shadow_roots_and_popovers_fails_the_browser_check() {
    // Defence: check --browser.
    caught_in_browser("prototype", "the platform script did not run");
}

#[test]
fn a_script_making_the_page_plain_text_on_a_second_visit_fails_the_browser_check() {
    // Defence: check --browser opens every page a second time, as a visitor who came before.
    caught_in_browser("second-visit", "second visit");
}

#[test]
fn the_root_element_hidden_skipped_or_inert_does_not_take_the_badge_along() {
    // `display: none`, `content-visibility: hidden` and
    // `interactivity: inert` on the root from a cascade layer, and again from a script after
    // the load. Defence: platform.js gives the root back its display and rendering, and takes
    // `inert` and `hidden` off it, whenever they change.
    holds("root", "375,1280");
}

#[test]
fn a_hidden_root_element_is_made_harmless_at_build_with_one_warning_at_its_template() {
    // `<html hidden>` in the base template. Defence: the injection takes `hidden`, `inert` and a
    // hiding inline style off <html> and <body>, and says so once, at the template.
    let t = site("hidden-root");
    let root = t.path("").to_string_lossy().into_owned();
    let r = t.run(&["build", root.trim_end_matches('/'), "--json"]);
    assert_eq!(r.status, 0, "{}\n{}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let warnings: Vec<&Value> = v["warnings"].as_array().unwrap().iter().filter(|e| e["kind"] == "platform").collect();
    assert_eq!(warnings.len(), 1, "one warning for the template: {v}");
    assert_eq!(warnings[0]["file"], "themes/plain/templates/base.html", "{}", warnings[0]);
    assert!(warnings[0]["message"].as_str().unwrap().contains("hidden"), "{}", warnings[0]);
    let page = t.read("index.html");
    assert!(!page.contains(" hidden"), "the attribute is gone: {page}");
    assert_eq!(sopixi::policy::tree::placement(&page, false), sopixi::policy::tree::Placement::Sound);
}

/// The build fails once, at `base.html:8` where the theme leaves `what` open before `</body>`,
/// with a platform error whose message says `cause`; no browser needed. `minify`: the site's
/// setting (the finished page takes another path without minification).
fn refused_at_its_line(name: &str, cause: &str, minify: bool) {
    let t = site(name);
    if !minify {
        t.write("site.yaml", &format!("{}minify: false\n", t.read_source("site.yaml")));
    }
    let root = t.path("").to_string_lossy().into_owned();
    let r = t.run(&["build", root.trim_end_matches('/'), "--json"]);
    assert_eq!(r.status, 1, "{name}: the build should fail:\n{}\n{}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let errors: Vec<&Value> = v["errors"].as_array().unwrap().iter().filter(|e| e["kind"] == "platform").collect();
    assert_eq!(errors.len(), 1, "{name}: one error for the template: {v}");
    let e = errors[0];
    assert_eq!(
        (e["file"].as_str(), e["line"].as_u64()),
        (Some("themes/plain/templates/base.html"), Some(8)),
        "{name}: {e}"
    );
    assert!(e["message"].as_str().unwrap().contains(cause), "{name}: {e}");
    assert!(e["hint"].as_str().unwrap().contains("before </body>"), "{name}: {e}");
    assert!(!t.exists("index.html"), "{name}: nothing published");
}

#[test]
fn markup_left_open_that_takes_the_platform_block_out_of_the_page_fails_the_build_at_its_line() {
    // Each theme leaves open, just before </body>, a context a browser's parser keeps the block
    // in: template contents, a comment, a <textarea>'s text, SVG (through <foreignObject>), an
    // attribute value. Defence: the page is parsed as a browser does (an HTML5 tree builder);
    // the block is not a rendered element of <body>, and the error names the template's line.
    for minify in [true, false] {
        refused_at_its_line("open-template", "<template>", minify);
        refused_at_its_line("open-comment", "comment", minify);
        refused_at_its_line("open-textarea", "<textarea>", minify);
        refused_at_its_line("open-svg", "<svg>", minify);
    }
    refused_at_its_line("unfinished-tag", "<img>", false);
    // Minified, the same page is harmless: the minifier ends the tag (its attribute holds the
    // rest of the template) and the block follows it in <body>.
    let t = site("unfinished-tag");
    t.build();
    assert_eq!(sopixi::policy::tree::placement(&t.read("index.html"), false), sopixi::policy::tree::Placement::Sound);
}

#[test]
fn an_element_left_open_that_would_hide_the_block_is_closed_before_it() {
    // A <select> or a closed <details> left open before </body> would hold the block, dropped or
    // folded away. Defence: the injection ends them right before the block (what a browser does
    // at the end of the page anyway), checks again with the tree builder, and warns at the line.
    for (name, element) in [("open-select", "select"), ("open-details", "details")] {
        let t = site(name);
        let root = t.path("").to_string_lossy().into_owned();
        let r = t.run(&["build", root.trim_end_matches('/'), "--json"]);
        assert_eq!(r.status, 0, "{name}: {}\n{}", r.stdout, r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        let w = v["warnings"].as_array().unwrap().iter().find(|e| e["kind"] == "platform");
        let w = w.unwrap_or_else(|| panic!("{name}: no warning: {v}"));
        assert_eq!(
            (w["file"].as_str(), w["line"].as_u64()),
            (Some("themes/plain/templates/base.html"), Some(8)),
            "{w}"
        );
        assert!(w["message"].as_str().unwrap().contains(&format!("<{element}>")), "{w}");
        for page in ["index.html", "members/inside/index.html"] {
            let html = t.read(page);
            let adult = page.contains("members");
            assert_eq!(
                sopixi::policy::tree::placement(&html, adult),
                sopixi::policy::tree::Placement::Sound,
                "{name} {page}"
            );
        }
    }
}
