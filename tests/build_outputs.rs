//! Every output kind a build promises exists and holds what it should.

use crate::support::{snapshot, SiteTest};

fn built() -> SiteTest {
    let t = SiteTest::new("blog");
    t.build_with(&["--no-minify"]);
    t
}

#[test]
fn home_lists_sections_with_menu_and_extra() {
    let t = built();
    t.assert_file(
        "index.html",
        &[
            "<html lang=\"fr\">",
            "<h1>Home</h1>",
            "Welcome home.",
            "href=\"https://fixture.example/blog/\">Blog</a> (4 pages)",
            "href=\"https://fixture.example/docs/\">Docs</a> (0 pages)",
            "<a href=\"https://fixture.example/\">Accueil</a> <a href=\"https://fixture.example/about/\">About</a>",
            "keep it simple",
        ],
    );
}

#[test]
fn pages_render_markdown_extensions() {
    let t = built();
    t.assert_file(
        "about/index.html",
        &[
            "<title>About &quot;us&quot;</title>",
            "<h1 id=\"about\">About<a class=\"heading-anchor\" href=\"#about\"",
            "href=\"https://fixture.example/blog/first/#intro\"",
            "href=\"https://fixture.example/blog/\"",
            "<table>",
            "<del>old</del>",
            "type=\"checkbox\"",
            "“Smart” quotes – dashes",
            "footnote-definition",
        ],
    );
}

#[test]
fn code_summary_toc_and_shortcodes() {
    let t = built();
    t.assert_file(
        "blog/first/index.html",
        &[
            "<time datetime=\"2024-01-10\">2024-01-10</time>",
            "<div class=\"toc\">intro;</div>",
            "<code class=\"language-rust\"><span class=\"hl-source hl-rust\">",
            "<aside class=\"note\">Shortcode from the theme</aside>",
            "<aside class=\"note\">block — <p>Inner <em>body</em></p>",
            "<div class=\"summary\"><h2 data-id=\"intro\">",
            "https://fixture.example/tags/rust/",
        ],
    );
    t.assert_file_lacks("blog/first/index.html", &["SOPIXISHORTCODE", "{{ note"]);
    // Built-in shortcodes: a button whose internal link resolves, a figure in a bundle.
    t.assert_file(
        "blog/le-troisieme/index.html",
        &["<a class=\"button\" href=\"https://fixture.example/about/\">button</a>"],
    );
    t.assert_file(
        "blog/trip/index.html",
        &[
            "<figure class=\"sc-figure\"><picture><source type=\"image/webp\"",
            "<img src=\"https://fixture.example/processed_images/photo.",
            "alt=\"photo\"",
            "width=\"64\" height=\"48\"",
            "<figcaption>Trip</figcaption>",
        ],
    );
}

#[test]
fn sections_are_sorted_and_paginated() {
    let t = built();
    // sort_by: date, newest first; 2 per page.
    let first = t.read("blog/index.html");
    let third = first.find("Third post").unwrap();
    let second = first.find("Second post").unwrap();
    assert!(third < second, "newest first:\n{first}");
    assert!(!first.contains("First post"));
    t.assert_file("blog/index.html", &["1/2", "href=\"https://fixture.example/blog/page/2/\""]);
    t.assert_file("blog/page/2/index.html", &["2/2", "First post", "A trip"]);
    assert!(!t.exists("blog/page/3/index.html"));
    // A paginated listing's pages are in `paginator.pages`, not copied into `section.pages`.
    t.assert_file("blog/index.html", &["4 in all, 0 in section.pages"]);
    t.assert_file("blog/page/2/index.html", &["4 in all, 0 in section.pages"]);
}

#[test]
fn taxonomies_feeds_sitemap_robots_404_aliases() {
    let t = built();
    // Terms are merged by slug: `Rust` and `rust` are one term.
    t.assert_file("tags/index.html", &["https://fixture.example/tags/rust/", "https://fixture.example/tags/web/"]);
    t.assert_file("tags/rust/index.html", &["Second post", "First post"]);
    t.assert_file("tags/web/index.html", &["Third post", "First post"]);
    t.assert_file(
        "atom.xml",
        &[
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"",
            "<id>https://fixture.example/blog/le-troisieme/</id>",
            "&lt;p&gt;Second body.",
        ],
    );
    t.assert_file("rss.xml", &["<rss version=\"2.0\"", "<link>https://fixture.example/blog/first/</link>"]);
    t.assert_file(
        "sitemap.xml",
        &[
            "<loc>https://fixture.example/about/</loc>",
            "<loc>https://fixture.example/blog/first/</loc><lastmod>2024-01-10</lastmod>",
            "<loc>https://fixture.example/tags/web/</loc>",
        ],
    );
    t.assert_file("robots.txt", &["Sitemap: https://fixture.example/sitemap.xml"]);
    t.assert_file("404.html", &["<h1>Introuvable</h1>", "keep it simple"]);
    t.assert_file(
        "old-about/index.html",
        &["http-equiv=\"refresh\" content=\"0; url=https://fixture.example/about/\""],
    );
    t.assert_file("legacy/about.html", &["https://fixture.example/about/"]);
}

#[test]
fn drafts_only_with_the_flag() {
    let t = built();
    assert!(!t.exists("blog/draft/index.html"));
    t.assert_file_lacks("sitemap.xml", &["draft"]);
    t.build_with(&["--drafts"]);
    t.assert_file("blog/draft/index.html", &["Secret draft"]);
}

#[test]
fn static_theme_static_and_bundle_files_are_copied() {
    let t = built();
    assert_eq!(
        std::fs::read(t.path("public/blog/trip/photo.jpg")).unwrap(),
        std::fs::read(t.path("content/blog/trip/photo.jpg")).unwrap(),
        "a photo without metadata is published byte for byte"
    );
    // Markdown inside a bundle is a file of the bundle, published as it is.
    assert_eq!(t.read("blog/trip/notes.md"), "# raw notes\n");
    assert_eq!(t.read("docs/guide.pdf"), "%PDF-1.4 fake");
    assert_eq!(t.read("theme.css"), "p{margin:0}\n");
    // The site's static file wins over the theme's file of the same path.
    assert_eq!(t.read("humans.txt"), "User-agent: *\n");
    assert!(t.exists("css/extra.css"));
}

#[test]
fn minification_is_on_by_default() {
    let t = SiteTest::new("blog");
    t.build();
    let html = t.read("about/index.html");
    assert!(!html.contains("\n<nav>"), "whitespace between tags is removed:\n{html}");
    assert!(html.contains("<p>We write <strong>Markdown</strong>"), "{html}");
    assert_eq!(t.read("css/extra.css"), "body{color:#00f}");
    // Code keeps its line breaks.
    assert!(
        t.read("blog/first/index.html").contains("<pre class=hl data-lang=rust>")
            || t.read("blog/first/index.html").contains("<pre class=\"hl\"")
    );
}

#[test]
fn base_url_override() {
    let t = SiteTest::new("blog");
    t.build_with(&["--base-url", "https://preview.example/x/"]);
    t.assert_file("about/index.html", &["https://preview.example/x/blog/first/#intro"]);
    t.assert_file_lacks("about/index.html", &["fixture.example"]);
}

#[test]
fn output_is_deterministic_whatever_the_thread_count() {
    let t = SiteTest::new("blog");
    let one = t.path("out-1");
    let two = t.path("out-4");
    t.build_with(&["--jobs", "1", "-o", one.to_str().unwrap()]);
    t.build_with(&["--jobs", "4", "-o", two.to_str().unwrap()]);
    let a = snapshot(&one);
    let b = snapshot(&two);
    assert!(a.len() > 20);
    let names = |s: &Vec<(String, Vec<u8>)>| s.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    for ((n, x), (_, y)) in a.iter().zip(b.iter()) {
        if n != ".sopixi-output.json" {
            assert!(x == y, "{n} differs between --jobs 1 and --jobs 4");
        }
    }
}

#[test]
fn example_site_shows_every_content_kind() {
    let t = SiteTest::from_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example-site"));
    t.build_with(&["--no-minify"]);
    // Text pages, a blog with dates and tags, a document, a photo, a video, external links,
    // a banner and a shop with prices and external buy links.
    t.assert_file("about/index.html", &["<table>", "https://example.com/moulin", "Horaires d’ouverture"]);
    t.assert_file("blog/index.html", &["Trente ans de pain", "#histoire", "12 septembre 2025"]);
    // Bilingual: French by default, English under /en/, each linked to the other.
    t.assert_file("en/about/index.html", &["<html lang=\"en\">", "Opening hours", "hreflang=\"fr\""]);
    t.assert_file("en/blog/index.html", &["Thirty years of bread", "#history", "September 12, 2025"]);
    t.assert_file("en/shop/sourdough-loaf/index.html", &["4.50 EUR", "Buy now"]);
    t.assert_file("blog/summer-menu/index.html", &["href=\"menu.pdf\" download"]);
    t.assert_file(
        "blog/new-oven/index.html",
        &["<picture><source type=\"image/webp\"", "processed_images/oven.", "<video src=\"oven.mp4\""],
    );
    t.assert_file("index.html", &["class=\"banner\"", "/images/banner.jpg"]);
    t.assert_file(
        "shop/sourdough-loaf/index.html",
        &["4,50 EUR", "Acheter", "href=\"https://pay.example.com/boulangerie/sourdough-loaf\""],
    );
    assert!(
        t.exists("blog/new-oven/oven.mp4") && t.exists("blog/summer-menu/menu.pdf") && t.exists("images/banner.jpg")
    );
}

/// Aliases as Hugo and Zola users write them: the page's own URL is ignored, one on a real page
/// or section loses to it with a warning at its line, and of two on one URL the first in path
/// order wins.
#[test]
fn aliases_lose_to_real_pages_and_to_earlier_aliases() {
    let t = SiteTest::new("blog");
    t.write(
        "content/about.md",
        "---\ntitle: About\naliases:\n  - /about/\n  - /blog/\n  - /shared-old/\n---\nAbout us.\n",
    );
    t.write("content/blog/first.md", "---\ntitle: First\ndate: 2024-01-01\naliases: [/shared-old/]\n---\nFirst.\n");
    let r = t.build_with(&["--no-minify"]);
    assert!(!r.stderr.contains("/about/`"), "the page's own URL is no alias: {}", r.stderr);
    assert!(
        r.stderr.contains("warning: content/about.md:5: alias `/blog/` is also the URL of content/blog/_index.md"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(
            "warning: content/blog/first.md:4: alias `/shared-old/` is also the URL of an alias of content/about.md"
        ),
        "{}",
        r.stderr
    );
    t.assert_file("about/index.html", &["About us."]);
    t.assert_file_lacks("about/index.html", &["http-equiv=\"refresh\""]);
    t.assert_file("blog/index.html", &["<h1>Blog</h1>"]);
    t.assert_file("shared-old/index.html", &["url=https://fixture.example/about/"]);
    let root = t.root.to_string_lossy().into_owned();
    let j = t.run(&["build", &root, "--json"]).json();
    assert_eq!(j["warnings"].as_array().map(Vec::len), Some(2), "{j}");
    assert_eq!(j["warnings"][0]["line"], 5, "{j}");
}

/// An alias ending in `.htm` (or `.HTML`) is an HTML page like any other: it carries the
/// platform elements (regression: only `.html` paths went through the finish stage).
#[test]
fn htm_aliases_carry_the_platform_elements() {
    let t = SiteTest::new("blog");
    t.write("content/about.md", "---\ntitle: About\naliases: [/old.htm, /OLD2.HTML]\n---\nAbout us.\n");
    t.build();
    for file in ["old.htm", "OLD2.HTML"] {
        t.assert_file(file, &["data-sopixi-platform", "url=https://fixture.example/about/"]);
    }
}
