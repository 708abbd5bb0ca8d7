//! Site search: each language's index, made by the build, and the client script in headless
//! Chromium: accents and stems, a word only in a heading, each language finding its own pages,
//! pages that must not be found (drafts, `search: false`, adult pages), empty and nonsense
//! queries, and the search page of every bundled theme driven with the keyboard and checked by
//! axe-core with its results shown.

use serde_json::{json, Value};

use crate::support::browser::{Browser, StaticServer};
use crate::support::SiteTest;

/// The bilingual fixture with pages made to be found, and pages that must not be.
fn site() -> SiteTest {
    let t = SiteTest::new("bilingual");
    t.write("content/blog/creme.md", "---\ntitle: La crème brûlée de l'atelier\ntags: [dessert]\n---\nUne recette de boulangeries et de pâtisseries.\n");
    t.write(
        "content/blog/heading.en.md",
        "---\ntitle: Varnish notes\n---\n## Shellac finishes\n\nHow we treat the wood.\n",
    );
    t.write("content/blog/hidden.md", "---\ntitle: Page cachée\nsearch: false\n---\nZanzibarique secret.\n");
    t.write("content/blog/brouillon.md", "---\ntitle: Brouillon\ndraft: true\n---\nZanzibarique brouillon.\n");
    t.write("content/adultes/_index.md", "---\ntitle: Adultes\nadult: true\n---\n");
    t.write("content/adultes/soiree.md", "---\ntitle: Soirée\n---\nZanzibarique soirée pour adultes.\n");
    t.build();
    t
}

fn files_under(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).into_iter().flatten().filter(|e| e.file_type().is_file()) {
        let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
        out.push((rel, e.metadata().unwrap().len()));
    }
    out
}

/// Runs the client's own search on the page open in `b`: the URLs of the results, best first.
fn query(b: &Browser, manifest: &str, lang: &str, q: &str) -> Vec<String> {
    let script = format!(
        "const r = await window.siteSearch.search({}, {}, {}); \
         if (!r.manifest) return []; \
         return (await window.siteSearch.docs(r, r.hits)).map(row => row[0]);",
        json!(manifest),
        json!(lang),
        json!(q)
    );
    let v = b.js(&format!("return (async () => {{ {script} }})();"));
    v.as_array().unwrap_or(&Vec::new()).iter().map(|u| u.as_str().unwrap().to_string()).collect()
}

#[test]
fn each_language_has_its_index_and_finds_its_own_pages_by_folded_and_stemmed_words() {
    let t = site();
    let public = t.path("public");
    let files = files_under(&public.join("_search"));
    assert!(files.iter().any(|(p, _)| p.starts_with("fr/i.")) && files.iter().any(|(p, _)| p.starts_with("en/i.")));
    for (p, len) in &files {
        let name = p.rsplit('/').next().unwrap();
        assert!(name.split('.').nth(1).is_some_and(|h| h.len() == 10), "{p} is fingerprinted");
        assert!(*len < 1_000_000, "{p}: {len} bytes");
    }
    assert!(public.join("search/index.html").is_file() && public.join("en/search/index.html").is_file());
    let page = std::fs::read_to_string(public.join("search/index.html")).unwrap();
    assert!(page.contains("data-search-index=") && page.contains("Rechercher"), "{page}");
    let home = std::fs::read_to_string(public.join("index.html")).unwrap();
    assert!(home.contains("role=search") || home.contains("role=\"search\""), "a search box in the header");
    // Nothing that must not be found is in any index file.
    for (p, _) in &files {
        let text = crate::support::ungz(&std::fs::read(public.join("_search").join(p)).unwrap());
        assert!(!text.contains("zanzibariq") && !text.contains("Zanzibarique"), "{p} holds a page it must not: {text}");
    }

    let server = StaticServer::start(&public);
    let b = Browser::start(1280, 800);
    b.goto(&server.url("/search/"));
    let manifest = |lang: &str| {
        let html = std::fs::read_to_string(public.join(if lang == "fr" {
            "search/index.html"
        } else {
            "en/search/index.html"
        }))
        .unwrap();
        let at = html.find("data-search-index=").unwrap() + "data-search-index=".len();
        html[at..].trim_start_matches('"').split(['"', ' ', '>']).next().unwrap().to_string()
    };
    let (fr, en) = (manifest("fr"), manifest("en"));
    let first = |lang: &str, m: &str, q: &str| query(&b, m, lang, q).first().cloned().unwrap_or_default();
    // Accents, stems and prefixes.
    for q in ["creme", "crème", "CRÈMES", "brulee", "boulangerie", "pâtisserie", "boulang"] {
        assert!(first("fr", &fr, q).ends_with("/blog/creme/"), "{q}: {:?}", query(&b, &fr, "fr", q));
    }
    // A word only in a heading, and English stems.
    for q in ["shellac", "finish", "finishing", "varnishes"] {
        assert!(first("en", &en, q).ends_with("/en/blog/heading/"), "{q}: {:?}", query(&b, &en, "en", q));
    }
    // Each language's index finds its own pages.
    assert!(query(&b, &fr, "fr", "shellac").is_empty());
    assert!(query(&b, &en, "en", "crème").is_empty());
    // Empty, nonsense, and what must not be found.
    assert!(query(&b, &fr, "fr", "").is_empty() && query(&b, &fr, "fr", "  ,; ").is_empty());
    assert!(query(&b, &fr, "fr", "xqzvwk").is_empty());
    assert!(query(&b, &fr, "fr", "zanzibarique").is_empty());
    // Three words: the page with all of them first.
    assert!(first("fr", &fr, "recette crème atelier").ends_with("/blog/creme/"));

    // The search page: ?q= fills it, the results are links with the words marked, the keyboard
    // goes from the box to the results and follows one.
    b.goto(&server.url("/search/?q=cr%C3%A8me"));
    let state = |b: &Browser| -> Value {
        b.js("return {n: document.querySelectorAll('[data-search-results] a').length, \
              first: (document.querySelector('[data-search-results] a') || {}).href || null, \
              mark: (document.querySelector('[data-search-results] mark') || {}).textContent || null, \
              count: document.querySelector('[data-search-count]').textContent, value: document.querySelector('form[data-search-index] input[name=q]').value};")
    };
    let mut s = state(&b);
    for _ in 0..50 {
        if s["n"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        s = state(&b);
    }
    assert!(s["first"].as_str().unwrap_or("").ends_with("/blog/creme/"), "{s}");
    assert!(s["mark"].as_str().is_some_and(|m| m.to_lowercase().starts_with("cr")), "{s}");
    assert!(s["count"].as_str().unwrap().contains("résultat"), "{s}");
    assert_eq!(s["value"], "crème", "?q= fills the box: {s}");
    // Typing a new query.
    b.js("const i = document.querySelector('form[data-search-index] input[name=q]'); i.focus(); i.select(); return true;");
    b.cdp("Input.insertText", json!({"text": "shellac"}));
    std::thread::sleep(std::time::Duration::from_millis(400));
    let s = state(&b);
    assert_eq!(s["n"], 0, "the French page does not find English words: {s}");
    b.js("const i = document.querySelector('form[data-search-index] input[name=q]'); i.focus(); i.select(); return true;");
    b.cdp("Input.insertText", json!({"text": "atelier"}));
    std::thread::sleep(std::time::Duration::from_millis(400));
    let s = state(&b);
    assert!(s["n"].as_u64().unwrap() >= 1, "{s}");
    for (key, code) in [("ArrowDown", 40)] {
        for ty in ["rawKeyDown", "keyUp"] {
            b.cdp(
                "Input.dispatchKeyEvent",
                json!({"type": ty, "key": key, "code": key, "windowsVirtualKeyCode": code}),
            );
        }
    }
    let focused = b.js("return document.activeElement.href || null;");
    assert_eq!(focused.as_str(), s["first"].as_str(), "ArrowDown goes to the first result");
    for ty in ["rawKeyDown", "char", "keyUp"] {
        b.cdp(
            "Input.dispatchKeyEvent",
            json!({"type": ty, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"}),
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let at = b.js("return location.href;");
    assert_eq!(at.as_str(), s["first"].as_str(), "Enter follows the result");
}

/// Types `text` into the focused element as a keyboard does, one key at a time.
fn type_keys(b: &Browser, text: &str) {
    for c in text.chars() {
        let key = c.to_string();
        for ty in ["keyDown", "keyUp"] {
            let mut e = json!({"type": ty, "key": key});
            if ty == "keyDown" {
                e["text"] = json!(key);
            }
            b.cdp("Input.dispatchKeyEvent", e);
        }
    }
}

fn press(b: &Browser, key: &str, code: u32) {
    for ty in ["rawKeyDown", "char", "keyUp"] {
        if ty == "char" && key != "Enter" {
            continue;
        }
        let mut e = json!({"type": ty, "key": key, "code": key, "windowsVirtualKeyCode": code});
        if key == "Enter" {
            e["text"] = json!("\r");
        }
        b.cdp("Input.dispatchKeyEvent", e);
    }
}

/// Each bundled theme's search page on the example site, in each language: typed into, its
/// results shown (and checked by axe-core: no serious or critical violation), the first one
/// followed with the keyboard.
#[test]
fn every_bundled_themes_search_page_is_typed_into_checked_by_axe_and_followed_with_the_keyboard() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let b = Browser::start(1280, 800);
    for theme in ["default", "vitrine", "journal", "boutique"] {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        crate::support::copy_dir(&root.join("example-site"), &site);
        let o = crate::support::bin().arg("build").arg(&site).args(["--theme", theme]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{theme}: {}", String::from_utf8_lossy(&o.stderr));
        let server = StaticServer::start(&site.join("public"));
        for (page, q, want) in
            [("/search/", "four", "/blog/new-oven/"), ("/en/search/", "sourdough", "/en/shop/sourdough-loaf/")]
        {
            b.goto(&server.url(page));
            let box_ = "form[data-search-index] input[name=q]";
            b.js(&format!("document.querySelector('{box_}').focus(); return true;"));
            type_keys(&b, q);
            let state = || {
                b.js("return {n: document.querySelectorAll('[data-search-results] a').length, \
                      first: (document.querySelector('[data-search-results] a') || {}).href || null, \
                      count: document.querySelector('[data-search-count]').textContent, \
                      value: document.querySelector('form[data-search-index] input[name=q]').value};")
            };
            let mut s = state();
            for _ in 0..100 {
                if s["n"].as_u64().unwrap_or(0) > 0 && !s["count"].as_str().unwrap_or("").is_empty() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
                s = state();
            }
            assert_eq!(s["value"], q, "{theme} {page}: the keys reached the box: {s}");
            assert!(s["first"].as_str().unwrap_or("").ends_with(want), "{theme} {page} {q}: {s}");
            let violations = b.axe();
            assert!(violations.is_empty(), "{theme} {page} with results: {violations:?}");
            press(&b, "ArrowDown", 40);
            let focused = b.js("return document.activeElement.href || null;");
            assert_eq!(focused.as_str(), s["first"].as_str(), "{theme} {page}: ArrowDown goes to the first result");
            press(&b, "Enter", 13);
            let mut at = Value::Null;
            for _ in 0..50 {
                at = b.js("return location.href;");
                if at.as_str() == s["first"].as_str() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            assert_eq!(at.as_str(), s["first"].as_str(), "{theme} {page}: Enter follows the result");
        }
    }
}
