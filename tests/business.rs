//! The business pack: the legal notice and privacy pages, `LocalBusiness` data, share cards, the
//! contact form and the embeds that wait for consent — on the example site, in every bundled
//! theme, and in a real Chromium.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::support::browser::{Browser, StaticServer};
use crate::support::SiteTest;

const THEMES: [&str; 4] = ["default", "boutique", "journal", "vitrine"];

fn example() -> SiteTest {
    SiteTest::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("example-site"))
}

fn with_theme(site: &SiteTest, theme: &str) {
    let text = site.read_source("site.yaml").replace("theme: default", &format!("theme: {theme}"));
    site.write("site.yaml", &text);
}

/// Every HTML page of a built folder (redirect pages left out), by site path.
fn pages(public: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(public).sort_by_file_name().into_iter().filter_map(Result::ok) {
        let rel = e.path().strip_prefix(public).unwrap().to_string_lossy().replace('\\', "/");
        if !rel.ends_with(".html") || rel.starts_with("_sopixi/") {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap();
        if text.contains("http-equiv=refresh") || text.contains("http-equiv=\"refresh\"") {
            continue;
        }
        out.push((rel, text));
    }
    out
}

/// The value of `<meta property|name="KEY" content=…>` in minified HTML.
fn meta(html: &str, key: &str) -> Option<String> {
    for attr in ["property", "name"] {
        for q in ["", "\""] {
            let needle = format!("<meta {attr}={q}{key}{q} content=");
            if let Some(i) = html.find(&needle) {
                let rest = &html[i + needle.len()..];
                let v = match rest.strip_prefix('"') {
                    Some(r) => r[..r.find('"').unwrap()].to_string(),
                    None => rest[..rest.find(['>', ' ']).unwrap()].to_string(),
                };
                return Some(v.replace("&amp;", "&"));
            }
        }
    }
    None
}

fn json_ld(html: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = html[from..].find("application/ld+json") {
        let start = from + i + html[from + i..].find('>').unwrap() + 1;
        let end = start + html[start..].find("</script>").unwrap();
        out.push(serde_json::from_str(&html[start..end]).unwrap_or_else(|e| panic!("JSON-LD does not parse: {e}")));
        from = end;
    }
    out
}

fn has(v: &Value, path: &str) -> bool {
    let mut v = v;
    for k in path.split('.') {
        v = match v.get(k) {
            Some(x) => x,
            None => return false,
        };
    }
    !(v.is_null() || v.as_str() == Some(""))
}

#[test]
fn the_legal_notice_and_privacy_pages_are_made_in_each_language_and_every_bundled_theme_links_them() {
    let policy = "host:\n  name: Hébergeur Exemple SAS\n  address: 1 quai de l'Hôte, 75001 Paris\n  phone: \"+33 1 23 45 67 89\"\n  url: https://hote.example/\n";
    for theme in THEMES {
        let site = example();
        with_theme(&site, theme);
        site.write("policy.yaml", policy);
        let p = site.path("policy.yaml").to_string_lossy().into_owned();
        site.build_with(&["--policy", &p]);
        site.assert_file(
            "mentions-legales/index.html",
            &[
                "Mentions légales",
                "Boulangerie Sopixi",
                "RCS Lyon 123 456 789",
                "Marie Dupont",
                "Hébergeur Exemple SAS",
                "+33 1 23 45 67 89",
            ],
        );
        site.assert_file(
            "en/legal-notice/index.html",
            &["Legal notice", "Director of publication", "Hébergeur Exemple SAS"],
        );
        // The privacy page names what the site uses: the form and both embeds.
        site.assert_file("confidentialite/index.html", &["Formulaire de contact", "YouTube", "OpenStreetMap", "CNIL"]);
        site.assert_file("en/privacy/index.html", &["Contact form", "YouTube", "OpenStreetMap"]);
        site.assert_file("merci/index.html", &["Merci"]);
        site.assert_file("en/thanks/index.html", &["Thank you"]);
        // Every page's footer links the notice in its language.
        for (path, html) in pages(&site.path("public")) {
            if path.starts_with("en/") {
                assert!(
                    html.contains("/en/legal-notice/>Legal notice</a>"),
                    "{theme}: /{path} has no link to the legal notice"
                );
            } else if !path.starts_with("404") {
                assert!(
                    html.contains("/mentions-legales/>Mentions légales</a>"),
                    "{theme}: /{path} has no link to the legal notice"
                );
            }
        }
        // The home page shows the hours and the address card.
        site.assert_file(
            "index.html",
            &["Horaires d'ouverture", "Du mardi au samedi", "6 h – 19 h 30", "Lundi", "12 Rue du Four", "69001 Lyon"],
        );
        site.assert_file("en/index.html", &["Opening hours", "Tuesday to Saturday", "6:00 am – 7:30 pm"]);
    }
}

#[test]
fn every_page_has_canonical_open_graph_and_twitter_tags_and_json_ld_of_its_type() {
    let site = example();
    site.build();
    let public = site.path("public");
    let mut types = BTreeSet::new();
    let list = pages(&public);
    assert!(list.len() > 30, "{} pages", list.len());
    for (path, html) in &list {
        assert!(html.contains("<link rel=canonical href="), "/{path} has no canonical link");
        for key in [
            "og:title",
            "og:description",
            "og:url",
            "og:image",
            "og:type",
            "og:locale",
            "twitter:card",
            "twitter:image",
        ] {
            assert!(meta(html, key).is_some(), "/{path} has no {key}");
        }
        let image = meta(html, "og:image").unwrap();
        let local = image
            .strip_prefix("https://boulangerie.example.org/")
            .unwrap_or_else(|| panic!("/{path}: og:image {image}"));
        let file = public.join(local);
        assert!(file.is_file(), "/{path}: og:image {image} is not in the output");
        if local.contains("/card.") {
            let img = image::open(&file).unwrap();
            assert_eq!((img.width(), img.height()), (1200, 630), "{local}");
            assert_eq!(meta(html, "og:image:width").as_deref(), Some("1200"));
        }
        for v in json_ld(html) {
            assert_eq!(v["@context"], "https://schema.org", "/{path}");
            let t = v["@type"].as_str().unwrap().to_string();
            let required: &[&str] = match t.as_str() {
                "WebSite" => &["name", "url"],
                "Bakery" => &[
                    "name",
                    "url",
                    "address.streetAddress",
                    "address.postalCode",
                    "address.addressLocality",
                    "address.addressCountry",
                    "geo.latitude",
                    "telephone",
                ],
                "Product" => &["name", "image", "offers.price", "offers.priceCurrency", "offers.availability"],
                "BlogPosting" => &["headline", "datePublished", "author.name", "image", "url"],
                "WebPage" | "CollectionPage" => &["name", "url"],
                other => panic!("/{path}: unexpected JSON-LD type {other}"),
            };
            for r in required {
                assert!(has(&v, r), "/{path}: {t} lacks {r}: {v}");
            }
            if t == "Bakery" {
                let hours = v["openingHoursSpecification"].as_array().unwrap();
                assert_eq!(hours.len(), 2);
                assert_eq!(hours[0]["opens"], "06:00");
                assert_eq!(hours[0]["dayOfWeek"].as_array().unwrap().len(), 5);
                assert!(path == "index.html" || path == "en/index.html", "LocalBusiness on /{path}");
            }
            types.insert(t);
        }
    }
    for t in ["WebSite", "Bakery", "Product", "BlogPosting", "WebPage", "CollectionPage"] {
        assert!(types.contains(t), "no page has {t} data: {types:?}");
    }
    // A product keeps its price; a page with an image of its own shares it, not a card.
    let product = site.read("shop/sourdough-loaf/index.html");
    assert!(json_ld(&product).iter().any(|v| v["@type"] == "Product" && v["offers"]["price"].is_number()));
}

#[test]
fn legal_and_business_mistakes_are_errors_at_their_line_and_a_shop_without_a_notice_is_warned() {
    let site = example();
    let text = site.read_source("site.yaml");
    let broken = text
        .replace("  kind: Bakery", "  kind: Bakeri")
        .replace("opens: \"07:00\"", "opens: \"7h\"")
        .replace("  director: Marie Dupont", "  director: \"\"");
    site.write("site.yaml", &broken);
    let r = site.build_fails();
    let line_of = |needle: &str| broken.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let kind = format!("site.yaml:{}: `business.kind` `Bakeri` is not a kind of business", line_of("kind: Bakeri"));
    assert!(r.stderr.contains(&kind), "{}", r.stderr);
    assert!(r.stderr.contains("did you mean `Bakery`?"), "{}", r.stderr);
    let hours = format!("site.yaml:{}: `business.hours` line 2: `opens` `7h` is not a time", line_of("\"7h\""));
    assert!(r.stderr.contains(&hours), "{}", r.stderr);
    let director = format!("site.yaml:{}: `legal.director` is empty", line_of("director: \"\""));
    assert!(r.stderr.contains(&director), "{}", r.stderr);
    assert!(!site.exists("index.html"));

    // A site that sells, without a legal notice: built, with a warning saying what to add.
    let start = text.find("legal:\n").unwrap();
    let end = start + text[start..].find("# The shop").unwrap();
    site.write("site.yaml", &format!("{}{}", &text[..start], &text[end..]));
    let r = site.build_with(&[]);
    assert!(r.stderr.contains("the site sells (content/shop/"), "{}", r.stderr);
    assert!(r.stderr.contains("has no legal notice"), "{}", r.stderr);
    assert!(r.stderr.contains("add a `legal:` block"), "{}", r.stderr);
    assert!(!site.exists("mentions-legales/index.html"));
}

#[test]
fn the_contact_form_is_listed_as_personal_data() {
    let site = example();
    let out = site.root.parent().unwrap().join("personal.json").to_string_lossy().into_owned();
    let root = site.root.to_string_lossy().into_owned();
    let r = site.run(&["export", &root, "--personal-data", "--output", &out]);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    let report = std::fs::read_to_string(&out).unwrap();
    assert!(report.contains("contact_form") && report.contains("content/contact.md"), "{report}");
}

/// A form endpoint on 127.0.0.1: records each POST body and answers 303 to its `_next`.
fn form_endpoint() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap_or(0);
            let mut length = 0;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap_or(());
            let body = String::from_utf8_lossy(&body).into_owned();
            let next = body
                .split('&')
                .find_map(|kv| kv.strip_prefix("_next="))
                .map(sopixi_decode)
                .unwrap_or_else(|| "/".into());
            seen.lock()
                .unwrap()
                .push(format!("{} {body}", first.split_whitespace().take(2).collect::<Vec<_>>().join(" ")));
            let _ = stream.write_all(
                format!("HTTP/1.1 303 See Other\r\nLocation: {next}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    (port, got)
}

/// `application/x-www-form-urlencoded` decoding.
fn sopixi_decode(v: &str) -> String {
    let v = v.replace('+', " ");
    let mut out = Vec::new();
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn the_contact_form_posts_to_the_policy_endpoint_without_any_script_and_returns_to_the_thank_you_page() {
    let (port, got) = form_endpoint();
    let site = example();
    let text =
        site.read_source("site.yaml").replace("language: fr\n", "language: fr\ndomain: boulangerie.example.org\n");
    site.write("site.yaml", &text);
    site.write("policy.yaml", &format!("forms:\n  endpoint: http://127.0.0.1:{port}/f/\n  consent:\n    fr: J'accepte la politique de la plateforme de test.\n"));
    // Built for the local server's address, so that the thank-you page is served there.
    let public = site.path("public");
    std::fs::create_dir_all(&public).unwrap();
    let server = StaticServer::start(&public);
    let p = site.path("policy.yaml").to_string_lossy().into_owned();
    site.build_with(&["--policy", &p, "--base-url", &server.url("/")]);
    let html = site.read("contact/index.html");
    assert!(html.contains(&format!("action=http://127.0.0.1:{port}/f/boulangerie-example-org")), "{html}");
    assert!(html.contains("J'accepte la politique de la plateforme de test."));
    assert!(html.contains("name=website tabindex=-1"), "the honeypot");

    let b = Browser::start(1280, 900);
    b.goto(&server.url("/contact/"));
    b.js("document.getElementById('contact-name').value = 'Ana Lima'; \
        document.getElementById('contact-email').value = 'ana@example.org'; \
        document.getElementById('contact-message').value = 'Deux pains pour samedi, merci !'; return true;");
    // From here on no script of the page runs: the form works without them.
    b.cdp("Emulation.setScriptExecutionDisabled", serde_json::json!({"value": true}));
    // Without the consent box ticked, the browser keeps the form.
    b.click("#contact button");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(got.lock().unwrap().is_empty(), "posted without consent: {:?}", got.lock().unwrap());
    b.click("#contact-consent");
    b.click("#contact button");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while got.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let posts = got.lock().unwrap().clone();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let post = &posts[0];
    assert!(post.starts_with("POST /f/boulangerie-example-org "), "{post}");
    for field in [
        "name=Ana+Lima",
        "email=ana%40example.org",
        "consent=yes",
        "website=&",
        "_form=boulangerie.example.org",
        "_lang=fr",
    ] {
        assert!(post.contains(field), "{field} not in {post}");
    }
    // Back on the site's thank-you page.
    std::thread::sleep(std::time::Duration::from_millis(500));
    b.cdp("Emulation.setScriptExecutionDisabled", serde_json::json!({"value": false}));
    let here = b.js("return location.pathname + '|' + document.querySelector('h1').textContent;");
    assert_eq!(here.as_str().unwrap(), "/merci/|Merci", "{here}");
}

fn hosts(urls: &[String]) -> BTreeSet<String> {
    urls.iter()
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .filter_map(|u| u.split_once("://").map(|(_, r)| r.split(['/', ':', '?']).next().unwrap_or("").to_string()))
        .collect()
}

#[test]
fn embeds_ask_nothing_of_another_host_before_consent_and_load_after_it() {
    let site = example();
    let public = site.path("public");
    std::fs::create_dir_all(&public).unwrap();
    let server = StaticServer::start(&public);
    site.build_with(&["--base-url", &server.url("/")]);
    let b = Browser::start_logged(1280, 900);
    b.goto(&server.url("/contact/"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = b.requests();
    assert!(!before.is_empty(), "the network log is empty");
    assert_eq!(hosts(&before), BTreeSet::from(["127.0.0.1".to_string()]), "before consent: {before:#?}");
    assert_eq!(b.js("return document.querySelectorAll('iframe').length;"), 0);
    // The notice lists the page's providers, none ticked.
    let listed = b.js("const r = document.querySelector('sopixi-badge').shadowRoot; \
        return [...r.querySelectorAll('[data-sopixi-provider]')].map(i => i.parentNode.textContent.trim() + ':' + i.checked).join(',');");
    assert_eq!(listed, "OpenStreetMap:false,YouTube:false");
    // The embed's own button accepts its provider only.
    b.click(".sc-embed-map [data-embed-load]");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let after = b.requests();
    let h = hosts(&after);
    assert!(h.contains("www.openstreetmap.org"), "the map did not load: {after:#?}");
    assert!(!h.iter().any(|h| h.contains("youtube")), "YouTube loaded without consent: {after:#?}");
    // Remembered on the next visit; YouTube still waits.
    b.reload();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let again = hosts(&b.requests());
    assert!(again.contains("www.openstreetmap.org") && !again.iter().any(|h| h.contains("youtube")), "{again:?}");
    // Accepting everything in the notice loads the video too.
    b.click("[data-sopixi-settings]");
    b.click("[data-sopixi-accept]");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let all = b.requests();
    assert!(hosts(&all).contains("www.youtube-nocookie.com"), "{all:#?}");
    let frames =
        b.js("return [...document.querySelectorAll('iframe')].map(f => new URL(f.src).host).sort().join(',');");
    assert_eq!(frames, "www.openstreetmap.org,www.youtube-nocookie.com");
    // Refused: nothing from another host on the next visit.
    b.click("[data-sopixi-settings]");
    b.click("[data-sopixi-refuse]");
    b.reload();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let refused = b.requests();
    assert_eq!(hosts(&refused), BTreeSet::from(["127.0.0.1".to_string()]), "after refusing: {refused:#?}");
}

#[test]
fn the_new_pages_pass_axe_in_every_bundled_theme() {
    let b = Browser::start(1280, 900);
    for theme in THEMES {
        let site = example();
        with_theme(&site, theme);
        let public = site.path("public");
        std::fs::create_dir_all(&public).unwrap();
        let server = StaticServer::start(&public);
        site.build_with(&["--base-url", &server.url("/")]);
        for path in ["/contact/", "/mentions-legales/", "/confidentialite/", "/merci/", "/en/contact/", "/"] {
            b.goto(&server.url(path));
            let found = b.axe();
            assert!(found.is_empty(), "{theme} {path}: {found:#?}");
        }
    }
}
