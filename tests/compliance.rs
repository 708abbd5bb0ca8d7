//! Every HTML file of a built site carries the platform elements: rendered pages, listings,
//! taxonomy pages, aliases, 404, raw HTML from static/ and from page bundles; adult pages are gated.

use sopixi::compliance::{check, Policy, Violation};

use crate::support::SiteTest;

#[test]
fn every_html_file_carries_badge_and_notice() {
    let t = SiteTest::new("blog");
    t.write("static/legacy.html", "<HTML><BODY><p>old page</p></BODY></HTML>");
    t.write("static/fragment.html", "<p>no body at all");
    t.write(
        "content/blog/trip/map.html",
        "<!doctype html><html><body><script>var x='</body>'</script><p>map</p></body></html>",
    );
    t.write("content/members/_index.md", "---\ntitle: Members\nadult: true\n---\n");
    t.write("content/members/inside.md", "---\ntitle: Inside\n---\nadult text\n");
    t.build();
    let policy = Policy::default();
    let mut html_files = 0;
    for e in walkdir::WalkDir::new(t.path("public")).into_iter().filter_map(Result::ok) {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "html") {
            html_files += 1;
            let text = std::fs::read_to_string(path).unwrap();
            let rel = path.strip_prefix(t.path("public")).unwrap().to_string_lossy().into_owned();
            let adult = rel.starts_with("members/");
            assert_eq!(check(&text, adult, &policy), Vec::<Violation>::new(), "{rel}:\n{text}");
        }
    }
    assert!(html_files >= 20, "{html_files}");
    // The adult section's pages inherit the gate; other pages do not get it.
    t.assert_file("members/inside/index.html", &["data-sopixi-age-gate", "name=rating content=adult"]);
    assert!(!t.read("about/index.html").contains("data-sopixi-age-gate"));
    // The platform's files are published; the notice is in the site's language (fr).
    assert!(t.exists("_sopixi/logo.svg") && t.exists("_sopixi/platform.js") && t.exists("_sopixi/platform.css"));
    t.assert_file("index.html", &["Accepter", "Refuser"]);
    // The static page keeps its content, and the block comes after it.
    let legacy = t.read("legacy.html");
    assert!(legacy.find("old page").unwrap() < legacy.find("data-sopixi-platform").unwrap(), "{legacy}");
}

#[test]
fn the_platform_folder_is_reserved() {
    let t = SiteTest::new("blog");
    t.write("static/_sopixi/logo.svg", "<svg>mine</svg>");
    let r = t.build_fails();
    assert!(
        r.stderr.contains("static/_sopixi/logo.svg") && r.stderr.contains("reserved for the platform"),
        "{}",
        r.stderr
    );
}
