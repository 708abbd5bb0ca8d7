//! Every HTML file of a built site carries the platform elements: rendered pages, listings,
//! taxonomy pages, aliases, 404, raw HTML from static/ and from page bundles; adult pages are gated.

use sopixi::policy::compliance::{check, Policy, Violation};

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

#[test]
fn a_theme_that_hides_or_fakes_the_badge_fails_the_build_and_keeps_the_old_output() {
    let t = SiteTest::new("blog");
    t.build();
    let before = t.read("about/index.html");
    // A hidden body would hide the badge with it: the style is taken away, with one warning at
    // the template that writes the tag (not at every content file).
    t.write(
        "templates/base.html",
        &std::fs::read_to_string(t.path("themes/plain/templates/base.html"))
            .unwrap()
            .replace("<body>", "<body style=\"display: none\">"),
    );
    let r = t.build_with(&[]);
    assert!(
        r.stderr.contains("templates/base.html: <html> or <body> on the pages made with this template carries"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.matches("carries `hidden`").count(), 1, "{}", r.stderr);
    assert!(!t.read("about/index.html").contains("display: none"));
    let _ = before;
    // A fake platform block in a template: its reserved names are refused where they are written.
    t.write(
        "templates/base.html",
        "<html><body>{% block main %}{% endblock main %}<div data-sopixi-platform><a data-sopixi-badge href=\"https://elsewhere.example/\">x</a></div></body></html>",
    );
    let r = t.build_fails();
    assert!(
        r.stderr.contains("templates/base.html:1:53: `data-sopixi-platform` names a platform element"),
        "{}",
        r.stderr
    );
    // So in a raw HTML file.
    t.remove("templates/base.html");
    t.write("static/hack.html", "<body><p>x</p><div data-sopixi-platform style=\"display:none\"></div></body>");
    let r = t.build_fails();
    assert!(r.stderr.contains("static/hack.html:1:20: `data-sopixi-platform`"), "{}", r.stderr);
    // In a page's raw HTML (Markdown is not scanned for names: a code sample may show them),
    // the fake block makes injection skip the page, and the check of the finished page fails it.
    t.remove("static/hack.html");
    t.write(
        "content/hack.md",
        "---\ntitle: Hack\n---\n<div data-sopixi-platform><a data-sopixi-badge href=\"https://elsewhere.example/\">x</a></div>\n",
    );
    let r = t.build_fails();
    assert!(
        r.stderr.contains("content/hack.md")
            && r.stderr.contains("the Sopixi badge link is missing; the cookie notice is missing"),
        "{}",
        r.stderr
    );
}

#[test]
fn check_reports_each_failing_file_on_a_built_folder_and_on_a_site() {
    let t = SiteTest::new("blog");
    t.write("content/members/_index.md", "---\ntitle: Members\nadult: true\n---\n");
    t.write("content/members/inside.md", "---\ntitle: Inside\n---\nadult text\n");
    t.build();
    let site = t.root.to_string_lossy().into_owned();
    let public = t.path("public").to_string_lossy().into_owned();
    let ok = t.run(&["check", &site]);
    assert_eq!(ok.status, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("all carry the platform elements"), "{}", ok.stdout);
    let ok = t.run(&["check", "--output", &public]);
    assert_eq!(ok.status, 0, "{}{}", ok.stdout, ok.stderr);

    // Tamper with three pages the way a hand-edited upload could.
    let edit = |rel: &str, from: &str, to: &str| {
        let text = t.read(rel);
        assert!(text.contains(from), "{rel} lacks {from}");
        std::fs::write(t.path("public").join(rel), text.replace(from, to)).unwrap();
    };
    edit("about/index.html", "data-sopixi-notice", "data-gone");
    edit("blog/index.html", "<a class=sopixi-badge", "<a hidden class=sopixi-badge");
    // The adult page loses both its gate and its rating tag: the manifest still knows it is adult.
    edit("members/inside/index.html", "data-sopixi-age-gate", "data-gone");
    edit("members/inside/index.html", "name=rating", "name=nothing");
    let r = t.run(&["check", "--output", &public]);
    assert_eq!(r.status, 1, "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        vec![
            "about/index.html: the cookie notice is missing",
            "blog/index.html: the Sopixi badge is hidden",
            "members/inside/index.html: this adult page has no age gate",
        ],
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("3 of"), "{}", r.stderr);
    let j = t.run(&["check", "--output", &public, "--json"]).json();
    assert_eq!(j["status"], "failed");
    assert_eq!(j["failures"].as_array().unwrap().len(), 3);
    assert_eq!(j["failures"][0]["file"], "about/index.html");
    assert!(j["checked"].as_u64().unwrap() >= 15, "{j}");
    // The site itself is still fine: checking it builds in memory and writes nothing.
    let ok = t.run(&["check", &site, "--json"]).json();
    assert_eq!(ok["status"], "ok");
    assert!(t.read("about/index.html").contains("data-gone"));

    // Any folder, even one sopixi did not build.
    let foreign = tempfile::tempdir().unwrap();
    std::fs::write(foreign.path().join("index.html"), "<html><body>plain</body></html>").unwrap();
    let r = t.run(&["check", "--output", &foreign.path().to_string_lossy()]);
    assert_eq!(r.status, 1);
    assert_eq!(r.stdout.trim(), "index.html: the Sopixi badge link is missing; the cookie notice is missing");
}

#[test]
fn the_operator_policy_rewords_and_restyles_but_cannot_disable() {
    let t = SiteTest::new("blog");
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(dir.path().join("mark.png"), b"\x89PNG\r\n\x1a\nfake").unwrap();
    std::fs::write(
        &policy,
        "badge:\n  url: https://platform.example/\n  label: Made on Platform\n  logo: mark.png\ncolors:\n  text: '#111111'\n  background: '#fafafa'\nnotice:\n  fr:\n    accept: Oui\n    refuse: Non\n",
    )
    .unwrap();
    let p = policy.to_string_lossy().into_owned();
    t.build_with(&["--policy", &p]);
    t.assert_file(
        "index.html",
        &["href=https://platform.example/", "Made on Platform", ">Oui<", ">Non<", "/_sopixi/logo.png"],
    );
    assert!(t.exists("_sopixi/logo.png") && !t.exists("_sopixi/logo.svg"));
    assert!(t.read("_sopixi/platform.css").contains("--sopixi-bg:#fafafa"));
    // The check follows the policy it is given.
    let public = t.path("public").to_string_lossy().into_owned();
    assert_eq!(t.run(&["check", "--output", &public, "--policy", &p]).status, 0);
    let r = t.run(&["check", "--output", &public]);
    assert_eq!(r.status, 1, "the default policy expects the default badge link");
    // Rebuilding without the policy is not "nothing changed".
    t.build();
    t.assert_file("index.html", &["href=https://sopixi.com/"]);

    std::fs::write(&policy, "badge:\n  url: https://platform.example/\n  enabled: false\n").unwrap();
    let r = t.run(&["build", &t.root.to_string_lossy(), "--policy", &p]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("policy.yaml:3") && r.stderr.contains("not turn them off"), "{}", r.stderr);
}

#[test]
fn site_theme_and_front_matter_cannot_switch_the_elements_off() {
    let t = SiteTest::new("blog");
    t.write("site.yaml", &(std::fs::read_to_string(t.path("site.yaml")).unwrap() + "  hide_sopixi_badge: true\n"));
    let r = t.build_fails();
    assert!(
        r.stderr.contains("site.yaml:14") && r.stderr.contains("`extra.hide_sopixi_badge` tries to turn off"),
        "{}",
        r.stderr
    );

    let t = SiteTest::new("blog");
    t.write("themes/plain/theme.yaml", "name: plain\ncookie_notice: false\n");
    let r = t.build_fails();
    assert!(r.stderr.contains("themes/plain/theme.yaml:2"), "{}", r.stderr);

    let t = SiteTest::new("blog");
    t.write("content/about.md", "---\ntitle: About\nextra:\n  badge: false\n---\nhi\n");
    t.write("content/members/_index.md", "---\ntitle: Members\nadult: true\n---\n");
    t.write("content/members/free.md", "---\ntitle: Free\nadult: false\n---\nx\n");
    let r = t.build_fails();
    assert!(
        r.stderr.contains("content/about.md:4") && r.stderr.contains("`extra.badge` tries to turn off"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("content/members/free.md:3") && r.stderr.contains("`adult: false` inside an adult section"),
        "{}",
        r.stderr
    );
}
