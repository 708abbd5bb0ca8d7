//! Multilingual sites: the `bilingual` fixture (French default, English), its URLs, translations
//! both ways, the two fallback modes, hreflang, sitemap, feeds and taxonomies per language, dates
//! and platform elements in the page's language, UI strings and their errors.

use crate::support::SiteTest;

fn built() -> SiteTest {
    let t = SiteTest::new("bilingual");
    t.build_with(&["--no-minify"]);
    t
}

#[test]
fn each_language_has_its_tree_and_translations_their_own_slugs() {
    let t = built();
    for f in [
        "index.html",
        "a-propos/index.html",
        "blog/portes-ouvertes/index.html",
        "blog/only-french/index.html",
        "blog/sortie/index.html",
        "blog/sortie/programme.txt",
        "en/index.html",
        "en/about/index.html",
        "en/blog/open-day/index.html",
        "en/blog/sortie/index.html",
        "en/blog/sortie/programme.txt",
        "en/contact/index.html",
    ] {
        assert!(t.exists(f), "{f} is missing");
    }
    // Without a fallback, an untranslated page is in its own language only.
    assert!(!t.exists("en/blog/only-french/index.html"));
    assert!(!t.exists("contact/index.html"), "an English-only page has no French URL");
    t.assert_file("en/about/index.html", &["<html lang=\"en\">", "<h1>About us</h1>", "Bilingual Workshop"]);
    t.assert_file("a-propos/index.html", &["<html lang=\"fr\">", "<h1>À propos</h1>", "Atelier Bilingue"]);
}

#[test]
fn translations_link_both_ways_and_internal_links_stay_in_the_language() {
    let t = built();
    let fr = "https://atelier.example/a-propos/";
    let en = "https://atelier.example/en/about/";
    for page in ["a-propos/index.html", "en/about/index.html"] {
        t.assert_file(
            page,
            &[
                &format!("<link rel=\"alternate\" hreflang=\"fr\" href=\"{fr}\">"),
                &format!("<link rel=\"alternate\" hreflang=\"en\" href=\"{en}\">"),
                &format!("<link rel=\"alternate\" hreflang=\"x-default\" href=\"{fr}\">"),
            ],
        );
    }
    // The language switcher goes to the translation, not the other home.
    t.assert_file("a-propos/index.html", &[&format!("<a href=\"{en}\" hreflang=\"en\"")]);
    t.assert_file("en/about/index.html", &[&format!("<a href=\"{fr}\" hreflang=\"fr\"")]);
    // `@/blog/_index.md` on an English page is the English journal; the French page's is French.
    t.assert_file(
        "en/about/index.html",
        &[
            "href=\"https://atelier.example/en/blog/\">journal",
            "href=\"https://atelier.example/en/blog/open-day/\">opening",
        ],
    );
    t.assert_file("a-propos/index.html", &["href=\"https://atelier.example/blog/\">journal"]);
    // Menus per language, resolved in that language.
    t.assert_file(
        "en/index.html",
        &["<a href=\"https://atelier.example/en/about/\">About</a>", "/en/contact/\">Contact"],
    );
    t.assert_file("index.html", &["<a href=\"https://atelier.example/a-propos/\">À propos</a>"]);
    t.assert_file_lacks("index.html", &["/en/contact/\">Contact"]);
    // A page without translation has no alternates.
    t.assert_file_lacks("blog/only-french/index.html", &["<link rel=\"alternate\" hreflang"]);
    // Aliases of a translation redirect to it.
    t.assert_file("en/who-we-are/index.html", &[en]);
}

#[test]
fn listings_feeds_taxonomies_and_sitemap_are_per_language() {
    let t = built();
    t.assert_file("blog/index.html", &["Portes ouvertes", "Seulement en français", "Sortie en forêt"]);
    t.assert_file_lacks("blog/index.html", &["Open day"]);
    t.assert_file("en/blog/index.html", &["Open day", "Forest outing"]);
    t.assert_file_lacks("en/blog/index.html", &["Portes ouvertes", "Seulement"]);
    t.assert_file(
        "atom.xml",
        &["xml:lang=\"fr\"", "<title>Portes ouvertes</title>", "https://atelier.example/atom.xml"],
    );
    t.assert_file_lacks("atom.xml", &["Open day"]);
    t.assert_file(
        "en/atom.xml",
        &["xml:lang=\"en\"", "<title>Open day</title>", "https://atelier.example/en/atom.xml"],
    );
    t.assert_file_lacks("en/atom.xml", &["Portes ouvertes"]);
    t.assert_file("en/rss.xml", &["<language>en</language>", "<link>https://atelier.example/en/</link>"]);
    t.assert_file("tags/bois/index.html", &["Portes ouvertes", "Seulement en français"]);
    t.assert_file("en/tags/wood/index.html", &["Open day"]);
    t.assert_file_lacks("en/tags/wood/index.html", &["Portes ouvertes"]);
    assert!(!t.exists("tags/wood/index.html") && !t.exists("en/tags/bois/index.html"));
    t.assert_file(
        "sitemap.xml",
        &[
            "xmlns:xhtml=\"http://www.w3.org/1999/xhtml\"",
            "<loc>https://atelier.example/en/blog/open-day/</loc><lastmod>2025-10-03</lastmod><xhtml:link rel=\"alternate\" hreflang=\"fr\" href=\"https://atelier.example/blog/portes-ouvertes/\"/><xhtml:link rel=\"alternate\" hreflang=\"en\" href=\"https://atelier.example/en/blog/open-day/\"/>",
            "<loc>https://atelier.example/blog/only-french/</loc><lastmod>2025-10-01</lastmod></url>",
        ],
    );
}

#[test]
fn dates_ui_strings_and_platform_elements_are_in_the_page_language() {
    let t = built();
    t.assert_file(
        "blog/portes-ouvertes/index.html",
        &[
            "<time datetime=\"2025-10-03\">3 octobre 2025</time>",
            "min de lecture",
            "data-sopixi-accept>Accepter<",
            "data-sopixi-refuse>Refuser<",
            "aria-label=\"Site réalisé avec Sopixi\"",
            "Aller au contenu",
        ],
    );
    t.assert_file(
        "en/blog/open-day/index.html",
        &[
            "<time datetime=\"2025-10-03\">October 3, 2025</time>",
            "min read",
            "data-sopixi-accept>Accept<",
            "This site uses cookies only with your consent.",
            "aria-label=\"Website made with Sopixi\"",
            "Skip to content",
        ],
    );
    t.assert_file_lacks("en/blog/open-day/index.html", &["Accepter", "octobre"]);
    t.assert_file("blog/only-french/index.html", &["1er octobre 2025"]);
}

#[test]
fn a_language_the_policy_lacks_gets_the_default_languages_notice() {
    let t = SiteTest::new("bilingual");
    let site = t
        .read_source("site.yaml")
        .replace("languages:\n  en:", "languages:\n  nl:\n    title: Tweetalige werkplaats\n  en:");
    t.write("site.yaml", &site);
    t.write("content/about.nl.md", "---\ntitle: Over ons\nslug: over-ons\n---\nDe werkplaats.\n");
    t.build_with(&["--no-minify"]);
    // The built-in policy has French and English texts: Dutch pages get the default's, French.
    t.assert_file("nl/over-ons/index.html", &["<html lang=\"nl\">", "data-sopixi-accept>Accepter<", "Naar de inhoud"]);
    t.assert_file("nl/over-ons/index.html", &["hreflang=\"nl\" href=\"https://atelier.example/nl/over-ons/\""]);
}

#[test]
fn fallback_shows_untranslated_pages_from_the_default_language_honestly() {
    let t = SiteTest::new("bilingual");
    let site = t.read_source("site.yaml") + "translation_fallback: default_language\n";
    t.write("site.yaml", &site);
    t.build_with(&["--no-minify"]);
    // Shown in the English tree, with English UI around French content marked as such.
    t.assert_file(
        "en/blog/only-french/index.html",
        &[
            "<html lang=\"en\">",
            "<article class=\"page\" lang=\"fr\">",
            "<div lang=\"fr\"><p>Cet article",
            "Skip to content",
        ],
    );
    t.assert_file("en/blog/index.html", &["Seulement en français", "<article class=\"card\" lang=\"fr\">"]);
    t.assert_file("en/atom.xml", &["<entry xml:lang=\"fr\">"]);
    // Not advertised as an English translation.
    t.assert_file_lacks("blog/only-french/index.html", &["hreflang=\"en\" href"]);
    t.assert_file_lacks("en/blog/only-french/index.html", &["<link rel=\"alternate\" hreflang"]);
    // Translated pages are still the translations.
    t.assert_file("en/blog/open-day/index.html", &["Come and see us"]);
    assert!(!t.exists("en/blog/opening/index.html"));
}

#[test]
fn default_language_in_its_own_folder_with_a_root_that_sends_visitors_on() {
    let t = SiteTest::new("bilingual");
    let site = t.read_source("site.yaml") + "default_language_in_subfolder: true\n";
    t.write("site.yaml", &site);
    t.build_with(&["--no-minify"]);
    assert!(t.exists("fr/a-propos/index.html") && t.exists("fr/atom.xml") && t.exists("fr/tags/bois/index.html"));
    assert!(!t.exists("a-propos/index.html"));
    t.assert_file(
        "index.html",
        &[
            "<meta http-equiv=\"refresh\" content=\"0; url=https://atelier.example/fr/\">",
            "hreflang=\"en\" href=\"https://atelier.example/en/\"",
            "navigator.languages",
            "data-sopixi-platform",
        ],
    );
    t.assert_file("fr/index.html", &["href=\"https://atelier.example/fr/a-propos/\""]);
}

#[test]
fn a_missing_ui_string_names_the_template_line() {
    let t = SiteTest::new("bilingual");
    t.write(
        "templates/page.html",
        "{% extends \"base.html\" %}\n{% block main %}\n<p>{{ trans(key=\"read_more\") }}</p>\n<p>{{ trans(key=\"delivery_hours\") }}</p>\n{% endblock main %}\n",
    );
    let r = t.build_fails();
    assert!(r.stderr.contains("templates/page.html:4"), "{}", r.stderr);
    assert!(r.stderr.contains("no UI string `delivery_hours`"), "{}", r.stderr);
    // The site's own strings file adds (and overrides) keys.
    t.write("i18n/fr.yaml", "delivery_hours: Heures d'ouverture\nread_more: Lire l'article\n");
    t.write("i18n/en.yaml", "delivery_hours: Opening hours\n");
    t.build_with(&["--no-minify"]);
    t.assert_file("a-propos/index.html", &["Heures d&#39;ouverture", "Lire l&#39;article"]);
    t.assert_file("en/about/index.html", &["Opening hours", "Read more"]);
}

#[test]
fn translation_mistakes_are_errors_with_a_way_out() {
    let t = SiteTest::new("bilingual");
    t.write("content/about.de.md", "---\ntitle: Über uns\n---\n");
    let r = t.build_fails();
    assert!(
        r.stderr.contains("content/about.de.md") && r.stderr.contains("`de` is not a language of this site"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("add `de` under `languages:`"), "{}", r.stderr);
    let t = SiteTest::new("bilingual");
    let site = t.read_source("site.yaml").replace("languages:\n  en:", "languages:\n  fr: {}\n  en:");
    t.write("site.yaml", &site);
    let r = t.build_fails();
    assert!(
        r.stderr.contains("site.yaml:13") && r.stderr.contains("`languages.fr` is the default language"),
        "{}",
        r.stderr
    );
}

#[test]
fn hostile_strings_files_and_language_floods_are_refused_without_aborting() {
    // UI strings are theme text that ends up in pages: markup aimed at the badge is refused.
    let t = SiteTest::new("bilingual");
    t.write("i18n/en.yaml", "read_more: \"<style>sopixi-badge{display:none}</style>Read\"\n");
    let r = t.build_fails();
    assert!(r.stderr.contains("i18n/en.yaml:1"), "{}", r.stderr);
    // A strings file nested ten thousand deep is an error of that file, not a crash.
    let t = SiteTest::new("bilingual");
    t.write("i18n/fr.yaml", &format!("a: {}1{}\n", "[".repeat(10_000), "]".repeat(10_000)));
    let r = t.build_fails();
    assert!(r.stderr.contains("i18n/fr.yaml") && r.stderr.contains("invalid YAML"), "{}", r.stderr);
    // Each language is a whole tree: a site cannot ask for hundreds of them.
    let t = SiteTest::new("bilingual");
    let many: String =
        (0..40).map(|i| format!("  l{}{}: {{}}\n", (b'a' + i / 26) as char, (b'a' + i % 26) as char)).collect();
    let site = t.read_source("site.yaml").replace("languages:\n", &format!("languages:\n{many}"));
    t.write("site.yaml", &site);
    let r = t.build_fails();
    assert!(r.stderr.contains("`languages` lists 42 languages; a site has at most 30"), "{}", r.stderr);
}
