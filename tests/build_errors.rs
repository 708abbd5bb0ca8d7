//! Every error case names the file, the line where known and what to do; the previous output is
//! left untouched; all errors are reported, not just the first.

use crate::support::{snapshot, SiteTest};

/// Builds once, breaks the site with `break_it`, checks the failure, checks `public/` is intact.
fn fails_keeping_output(break_it: impl FnOnce(&SiteTest)) -> String {
    let t = SiteTest::new("blog");
    t.build();
    let before = snapshot(&t.path("public"));
    break_it(&t);
    let r = t.build_fails();
    assert_eq!(snapshot(&t.path("public")), before, "a failed build must not touch the previous output");
    assert!(r.stderr.contains("was left as it was"), "{}", r.stderr);
    r.stderr
}

#[test]
fn bad_yaml_names_file_and_line() {
    let err = fails_keeping_output(|t| {
        t.write("content/blog/second.md", "---\ntitle: Second\ntags: [a, b\n---\nbody\n");
    });
    assert!(err.contains("error: content/blog/second.md:"), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");
}

#[test]
fn bad_site_yaml_names_line() {
    let err = fails_keeping_output(|t| {
        t.write("site.yaml", "title: X\nbase_url: https://x.example/\ntheme: plain\nmenus: [oops\n");
    });
    assert!(err.contains("error: site.yaml:"), "{err}");
}

#[test]
fn unknown_keys_get_did_you_mean() {
    let err = fails_keeping_output(|t| {
        t.write("content/about.md", "---\ntitle: About\ndescripton: typo\n---\nx\n");
    });
    assert!(err.contains("content/about.md:3:1: unknown front matter key `descripton`"), "{err}");
    assert!(err.contains("did you mean `description`?"), "{err}");
    let err = fails_keeping_output(|t| {
        let yaml = std::fs::read_to_string(t.path("site.yaml")).unwrap();
        t.write("site.yaml", &yaml.replace("language: fr", "langage: fr"));
    });
    assert!(err.contains("site.yaml:3:1: unknown key `langage`"), "{err}");
    assert!(err.contains("did you mean `language`?"), "{err}");
}

#[test]
fn broken_internal_link_names_line_and_column() {
    let err = fails_keeping_output(|t| {
        t.write("content/about.md", "---\ntitle: About\n---\nfirst line\n\nsee [x](@/nowhere.md) here\n");
    });
    assert!(err.contains("content/about.md:6:5: broken internal link `@/nowhere.md`"), "{err}");
}

#[test]
fn missing_template_is_named() {
    let err = fails_keeping_output(|t| {
        t.write("content/about.md", "---\ntitle: About\ntemplate: fancy.html\n---\nx\n");
    });
    assert!(err.contains("content/about.md: missing template `fancy.html`"), "{err}");
}

#[test]
fn template_errors_name_template_and_line_once() {
    let err = fails_keeping_output(|t| {
        t.write(
            "templates/page.html",
            "{% extends \"base.html\" %}\n{% block main %}\n<p>{{ page.nonexistent.field }}</p>\n{% endblock main %}\n",
        );
    });
    assert!(err.contains("templates/page.html:3:"), "{err}");
    assert!(err.contains("and 4 other files"), "one report for every page using the template: {err}");
    let t = SiteTest::new("blog");
    t.write("templates/page.html", "{% if %}\n");
    let r = t.build_fails();
    assert!(r.stderr.contains("templates/page.html:1:"), "{}", r.stderr);
}

#[test]
fn url_collision_names_both_files() {
    let err = fails_keeping_output(|t| {
        t.write("content/blog/other.md", "---\ntitle: Other\nslug: first\n---\nx\n");
    });
    assert!(err.contains("content/blog/first.md") && err.contains("content/blog/other.md"), "{err}");
    assert!(err.contains("URL /blog/first/"), "{err}");
    let err = fails_keeping_output(|t| {
        t.write("static/about/index.html", "<p>static</p>");
    });
    assert!(err.contains("static/about/index.html") && err.contains("content/about.md"), "{err}");
}

#[test]
fn unreadable_files_are_reported() {
    let err = fails_keeping_output(|t| {
        std::fs::write(t.path("content/latin1.md"), b"---\ntitle: caf\xe9\n---\n").unwrap();
        std::os::unix::fs::symlink("/nonexistent/target.md", t.path("content/dangling.md")).unwrap();
    });
    assert!(err.contains("content/latin1.md") && err.contains("UTF-8"), "{err}");
    assert!(err.contains("dangling.md") && err.contains("cannot read"), "{err}");
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let err = fails_keeping_output(|t| {
        t.write("content/a.md", "---\ntitel: A\n---\n");
        t.write("content/b.md", "---\ndate: someday\n---\n");
        t.write("content/blog/c.md", "---\ntitle: C\n---\n[x](@/missing.md)\n");
    });
    for needle in ["content/a.md:2", "content/b.md:2", "content/blog/c.md:4"] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }
    assert!(err.contains("build failed with 3 errors"), "{err}");
}

#[test]
fn json_errors_for_ci() {
    let t = SiteTest::new("blog");
    t.write("content/a.md", "---\ntitel: A\n---\n");
    let root = t.root.to_string_lossy().into_owned();
    let r = t.run(&["build", &root, "--json"]);
    assert_eq!(r.status, 1);
    let v = r.json();
    assert_eq!(v["status"], "error");
    assert_eq!(v["errors"][0]["file"], "content/a.md");
    assert_eq!(v["errors"][0]["line"], 2);
}

#[test]
fn unknown_theme_and_missing_site() {
    let t = SiteTest::new("blog");
    let yaml = std::fs::read_to_string(t.path("site.yaml")).unwrap();
    t.write("site.yaml", &yaml.replace("theme: plain", "theme: defualt"));
    t.remove("themes/plain/theme.yaml");
    let r = t.build_fails();
    assert!(r.stderr.contains("site.yaml:4: no theme `defualt`"), "{}", r.stderr);
    assert!(r.stderr.contains("did you mean `default`"), "{}", r.stderr);
    let r = t.run(&["build", "/nonexistent/site"]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("no such site folder"), "{}", r.stderr);
}

#[test]
fn links_out_of_the_site_are_refused() {
    let err = fails_keeping_output(|t| {
        let outside = t.root.parent().unwrap().join("secret.txt");
        std::fs::write(&outside, "password").unwrap();
        std::os::unix::fs::symlink(&outside, t.path("static/secret.txt")).unwrap();
        // A link inside the site is fine.
        std::os::unix::fs::symlink(t.path("content/about.md"), t.path("static/about-source.md")).unwrap();
    });
    assert!(err.contains("static/secret.txt: this link points outside the site folder"), "{err}");
    assert!(!err.contains("about-source"), "{err}");
}

#[test]
fn a_video_over_5_mb_and_a_site_over_its_quota_fail_the_build_naming_the_files() {
    let t = SiteTest::new("blog");
    t.build();
    let before = t.read("index.html");
    std::fs::write(t.path("content/blog/trip/clip.mp4"), vec![0u8; 5_100_000]).unwrap();
    std::fs::write(t.path("static/intro.webm"), vec![0u8; 4_900_000]).unwrap();
    let r = t.build_fails();
    assert!(
        r.stderr.contains(
            "content/blog/trip/clip.mp4: this video is 5.1 MB, over the platform's limit of 5.0 MB per video"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("intro.webm"), "a 4.9 MB video is allowed: {}", r.stderr);
    assert_eq!(t.read("index.html"), before, "the previous output is untouched");
    t.remove("content/blog/trip/clip.mp4");
    t.build();
    assert!(t.exists("intro.webm"));

    // The operator's policy sets the quotas.
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "quotas:\n  site_bytes: 1000000\n").unwrap();
    let root = t.root.to_string_lossy().into_owned();
    let r = t.run(&["build", &root, "--policy", &policy.to_string_lossy()]);
    assert_eq!(r.status, 1);
    assert!(
        r.stderr.contains("over the platform's quota of 1.0 MB") && r.stderr.contains("/intro.webm (4.9 MB)"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_bad_alias_is_reported_at_its_own_line() {
    let err = fails_keeping_output(|t| {
        t.write("content/about.md", "---\ntitle: About\naliases:\n  - /old-about/\n  - ../../etc/passwd\n---\nx\n");
    });
    assert!(err.contains("content/about.md:5: alias `../../etc/passwd` is not a path of this site"), "{err}");
}

#[test]
fn json_errors_say_what_kind_and_where() {
    let t = SiteTest::new("blog");
    t.write("content/about.md", "---\ntitle: About\n---\n![x](missing-photo.jpg)\n");
    let root = t.root.to_string_lossy().into_owned();
    let r = t.run(&["build", &root, "--json"]);
    assert_eq!(r.status, 1, "{}", r.stdout);
    let v = r.json();
    let e = v["errors"].as_array().unwrap().iter().find(|e| e["kind"] == "image").unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        (e["file"].as_str(), e["origin"].as_str(), e["line"].as_u64()),
        (Some("content/about.md"), Some("file"), Some(4)),
        "{v}"
    );
    assert!(e["hint"].as_str().unwrap().contains("beside the page"), "{v}");
}

/// Hostile input never aborts the process: nesting too deep for the parsers and minifier, and a
/// template macro that calls itself without end, are errors naming their files, all reported
/// in one run, and the previous output is kept.
#[test]
fn hostile_nesting_and_endless_templates_are_errors_not_crashes() {
    let err = fails_keeping_output(|t| {
        t.write("content/quotes.md", &format!("---\ntitle: Q\n---\nfine\n\n{} deep\n", ">".repeat(20_000)));
        let lists: String = (0..3000).map(|i| format!("{}- a\n", "  ".repeat(i))).collect();
        t.write("content/lists.md", &format!("---\ntitle: L\n---\n{lists}"));
        t.write(
            "content/yaml.md",
            &format!("---\ntitle: Y\nextra:\n  x: {}1{}\n---\nx\n", "[".repeat(5000), "]".repeat(5000)),
        );
    });
    assert!(err.contains("content/quotes.md:6: quotes and lists nest 20000 deep here"), "{err}");
    assert!(err.contains("content/lists.md:104: quotes and lists nest 101 deep here"), "{err}");
    assert!(err.contains("content/yaml.md:4:") && err.contains("nests too deep"), "{err}");

    // HTML too deep for the minifier (raw HTML in Markdown, emphasis nested by Markdown).
    let err = fails_keeping_output(|t| {
        t.write(
            "content/divs.md",
            &format!("---\ntitle: D\n---\n\n{}x{}\n", "<div>".repeat(20_000), "</div>".repeat(20_000)),
        );
        t.write(
            "content/emphasis.md",
            &format!("---\ntitle: E\n---\n\n{}x{}\n", "*".repeat(20_000), "*".repeat(20_000)),
        );
    });
    assert!(err.contains("content/divs.md: /divs/index.html: its HTML elements nest more than 512 deep"), "{err}");
    assert!(
        err.contains("content/emphasis.md: /emphasis/index.html: its HTML elements nest more than 512 deep"),
        "{err}"
    );

    let err = fails_keeping_output(|t| {
        t.write("templates/macros.html", "{% macro again(n) %}{{ self::again(n=n+1) }}{% endmacro again %}\n");
        t.write(
            "templates/page.html",
            "{% import \"macros.html\" as m %}<html><body>{{ m::again(n=1) }}</body></html>\n",
        );
        t.write("templates/section.html", "<html><body>{% include \"section.html\" %}</body></html>\n");
    });
    assert!(err.contains("macro `self::again` nests more than 128 macro calls, includes and loops deep"), "{err}");
    assert!(err.contains("include `section.html` nests more than 128"), "{err}");
}

/// Templates that would run for hours or fill memory fail instead: a loop over a huge `range`,
/// `range` with a zero step, and loops that together run past the iteration limit.
#[test]
fn templates_that_never_end_fail_instead_of_hanging() {
    let err = fails_keeping_output(|t| {
        t.write("templates/page.html", "<html><body>{% for i in range(end=100000000) %}x{% endfor %}</body></html>\n");
        t.write(
            "templates/section.html",
            "<html><body>{% for i in range(end=5, step_by=0) %}x{% endfor %}</body></html>\n",
        );
        t.write(
            "templates/index.html",
            "<html><body>{% for a in range(end=5000) %}{% for b in range(end=5000) %}{% endfor %}{% endfor %}</body></html>\n",
        );
    });
    assert!(err.contains("would make more than 1000000 numbers"), "{err}");
    assert!(err.contains("`step_by=0`"), "{err}");
    assert!(err.contains("more than 10000000 loop iterations"), "{err}");
}
