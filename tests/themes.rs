//! Themes: `sopixi theme statement` (designers' monthly statements checked against hand-computed
//! totals, bad rows refused with their line), the catalog, `theme new`, `theme check` (quick and
//! full, on careless themes and on every bundled one), the example site rendered by each bundled
//! theme, and `init --theme`.

use crate::support::{bin, copy_dir, fixtures};

fn catalog(dir: &std::path::Path) -> std::path::PathBuf {
    let themes = dir.join("catalog");
    for (name, designer) in [("vitrine", "Ana Design"), ("journal", "Ben Studio")] {
        copy_dir(&fixtures().join("partners/themes/basic"), &themes.join(name));
        std::fs::write(
            themes.join(name).join("theme.yaml"),
            format!("name: {name}\ndesigner: {designer}\nlicense: proprietary\nprice: \"49.00\"\nversion: 1.0.0\n"),
        )
        .unwrap();
    }
    themes
}

#[test]
fn statements_add_up_to_hand_computed_totals() {
    let dir = tempfile::tempdir().unwrap();
    let themes = catalog(dir.path());
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "themes:\n  margin_percent: 30\n  vat_percent: 20\n").unwrap();
    let sales = dir.path().join("sales.csv");
    // 76.44 is 49.00 + 30 % + 20 % VAT; two cents paid are 0.0128 € of share, rounded once.
    std::fs::write(
        &sales,
        "date,theme,partner,amount_paid\n2026-10-02,vitrine,acme,76.44\n2026-10-31,vitrine,bea,76.44\n2026-10-15,journal,cid,0.01\n2026-10-16,journal,dan,0.01\n",
    )
    .unwrap();
    let out = dir.path().join("statements");
    let o = bin()
        .args(["theme", "statement", "--sales"])
        .arg(&sales)
        .arg("--themes")
        .arg(&themes)
        .arg("--policy")
        .arg(&policy)
        .args(["--month", "2026-10", "--json", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let st = v["statements"].as_array().unwrap();
    assert_eq!(st[0]["designer"], "Ana Design");
    assert_eq!((st[0]["total_paid"].as_i64(), st[0]["total_due"].as_i64()), (Some(15288), Some(9800)));
    assert_eq!(st[0]["payable_on"], "2026-11-30");
    assert_eq!((st[1]["designer"].as_str(), st[1]["total_due"].as_i64()), (Some("Ben Studio"), Some(1)));
    let csv = std::fs::read_to_string(out.join("ana-design-2026-10.csv")).unwrap();
    assert!(
        csv.starts_with("date,theme,partner,amount_paid,designer_share\n2026-10-02,vitrine,acme,76.44,49.00\n"),
        "{csv}"
    );
    assert!(csv.ends_with("total,,,152.88,98.00\n"), "{csv}");
    let html = std::fs::read_to_string(out.join("ana-design-2026-10.html")).unwrap();
    assert!(html.contains("Total due: 98.00 €"), "{html}");
}

#[test]
fn a_bad_sales_row_is_named_by_its_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let themes = catalog(dir.path());
    let sales = dir.path().join("sales.csv");
    std::fs::write(&sales, "date,theme,partner,amount_paid\n2026-10-02,vitrine,acme,76.44\n2026-10-03,vitrin,bea,76.44\n2026-11-01,journal,cid,3.00\n2026-10-04,journal,dan,-1.00\n").unwrap();
    let out = dir.path().join("statements");
    let o = bin()
        .args(["theme", "statement", "--sales"])
        .arg(&sales)
        .arg("--themes")
        .arg(&themes)
        .args(["--month", "2026-10", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("sales.csv:3") && err.contains("unknown theme `vitrin`") && err.contains("did you mean `vitrine`"),
        "{err}"
    );
    assert!(err.contains("sales.csv:4") && err.contains("not in 2026-10"), "{err}");
    assert!(err.contains("sales.csv:5") && err.contains("negative"), "{err}");
    assert!(!out.exists(), "a statement was written despite bad rows");
}

#[test]
fn the_catalog_shows_public_prices_with_their_breakdown_and_live_demos() {
    let dir = tempfile::tempdir().unwrap();
    let themes = catalog(dir.path());
    // 9.99 + 30 % = 12.987; + 20 % VAT = 15.5844 → 15.58 (rounded once); the margin 2.997 → 3.00.
    let journal = themes.join("journal/theme.yaml");
    let t = std::fs::read_to_string(&journal).unwrap().replace("\"49.00\"", "\"9.99\"");
    std::fs::write(&journal, t).unwrap();
    copy_dir(&fixtures().join("partners/themes/basic"), &themes.join("plain"));
    std::fs::write(
        themes.join("plain/theme.yaml"),
        // A screenshot outside the theme folder is not read.
        "name: plain\ndesigner: Sopixi\nlicense: MIT\nprice: \"0\"\nversion: 1.0.0\nscreenshot: /etc/hostname\n",
    )
    .unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "themes:\n  margin_percent: 30\n  vat_percent: 20\n").unwrap();
    let out = dir.path().join("gallery");
    let o = bin()
        .args(["theme", "catalog"])
        .arg(&themes)
        .arg("--policy")
        .arg(&policy)
        .args(["--json", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let price = |id: &str| v["themes"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap()["price"].clone();
    assert_eq!(price("vitrine"), serde_json::json!({"designer": 4900, "margin": 1470, "vat": 1274, "total": 7644}));
    assert_eq!(price("journal"), serde_json::json!({"designer": 999, "margin": 300, "vat": 259, "total": 1558}));
    assert_eq!(price("plain")["total"], 0);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("76.44 €") && html.contains("15.58 €") && html.contains("Free"), "{html}");
    assert!(html.contains("Platform (30.00 %)") && html.contains("14.70 €"), "the breakdown");
    assert!(html.contains("data-sopixi-platform"), "the gallery carries the platform elements");
    assert!(out.join("demo/vitrine/index.html").is_file(), "a live demo per theme");
    assert!(std::fs::read_to_string(out.join("demo/vitrine/index.html")).unwrap().contains("data-sopixi-platform"));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("catalog.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert!(json.as_array().unwrap().iter().all(|t| t["screenshot"].is_null()), "{json}");
    assert!(!out.join("screenshots").exists());
    // The demos' image caches are the gallery's, never written into a theme folder.
    let written: Vec<_> = walkdir::WalkDir::new(&themes)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".sopixi") || e.file_name() == "public")
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(written.is_empty(), "the catalog wrote into the themes: {written:?}");
}

/// Every path under `dir`, sorted, with each file's size.
fn listing(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| (e.path().strip_prefix(dir).unwrap().display().to_string(), e.metadata().map_or(0, |m| m.len())))
        .collect();
    out.sort();
    out
}

#[test]
fn theme_check_writes_nothing_into_the_theme_it_checks() {
    // A theme with a demo site that has images: its builds make image variants, which go to
    // the user's cache folder. (Before, `themes/vitrine/demo/.sopixi-cache/` appeared, and cargo
    // then rebuilt the crate, since `build.rs` watched `themes/`.)
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let theme = dir.path().join("vitrine");
    copy_dir(&root.join("themes/vitrine"), &theme);
    let before = listing(&theme);
    let cache = dir.path().join("cache");
    for _ in 0..2 {
        let o = bin()
            .args(["theme", "check"])
            .arg(&theme)
            .args(["--quick", "--json"])
            .env("XDG_CACHE_HOME", &cache)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
        assert_eq!(listing(&theme), before, "theme check wrote into the theme folder");
    }
    let cached = listing(&cache.join("sopixi/theme-check"));
    assert!(cached.iter().any(|(p, _)| p.ends_with(".webp") || p.ends_with(".jpg")), "{cached:?}");
}

#[test]
fn a_new_theme_builds_the_example_site_with_the_platform_elements() {
    let dir = tempfile::tempdir().unwrap();
    let theme = dir.path().join("harbour");
    let o = bin().args(["theme", "new", "harbour", "--dir"]).arg(&theme).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let meta = std::fs::read_to_string(theme.join("theme.yaml")).unwrap();
    assert!(meta.contains("name: harbour") && meta.contains("price: \"0\""), "{meta}");
    let site = dir.path().join("site");
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example-site"), &site);
    let o = bin().arg("build").arg(&site).arg("--theme").arg(&theme).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let home = std::fs::read_to_string(site.join("public/index.html")).unwrap();
    assert!(home.contains("Aller au contenu") && home.contains("data-sopixi-platform"), "{home}");
    // Not over an existing theme.
    let o = bin().args(["theme", "new", "harbour", "--dir"]).arg(&theme).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn theme_check_passes_the_bundled_theme_and_names_a_bad_one_s_problems() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let o =
        bin().args(["theme", "check"]).arg(root.join("themes/default")).args(["--quick", "--json"]).output().unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert!(v["report"]["pages"].as_u64().unwrap() >= 10, "{v}");
    assert_eq!(v["report"]["browser_pages"], 0, "--quick opens no browser: {v}");
    // A theme with a font from another host, no section.html and an incomplete theme.yaml.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    copy_dir(&fixtures().join("partners/themes/basic"), &bad);
    std::fs::remove_file(bad.join("templates/section.html")).unwrap();
    std::fs::write(bad.join("theme.yaml"), "name: bad\nprice: \"12.00\"\n").unwrap();
    let base = std::fs::read_to_string(bad.join("templates/base.html")).unwrap();
    std::fs::write(
        bad.join("templates/base.html"),
        base.replacen("<title>", "<link rel=\"stylesheet\" href=\"https://fonts.example/inter.css\"><title>", 1),
    )
    .unwrap();
    let o = bin().args(["theme", "check"]).arg(&bad).args(["--quick", "--json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let errors = v["report"]["errors"].as_array().unwrap();
    let says = |what: &str| errors.iter().find(|e| e["message"].as_str().unwrap().contains(what)).cloned();
    let ext = says("requests another host").expect("the font is found");
    assert!(ext["file"].as_str().unwrap().ends_with("templates/base.html") && ext["line"] == 2, "{ext}");
    assert!(says("missing template `section.html`").is_some(), "{v}");
    assert!(says("`designer` is missing").is_some(), "{v}");
    assert!(says("no template sets the viewport width").is_some(), "{v}");
}

#[test]
fn theme_check_in_chromium_finds_overflow_invalid_html_and_poor_dark_contrast() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    copy_dir(&fixtures().join("partners/themes/basic"), &bad);
    std::fs::write(
        bad.join("theme.yaml"),
        "name: bad\ndescription: Careless\ndesigner: T\nlicense: MIT\nversion: 1.0.0\n",
    )
    .unwrap();
    // Its stylesheet is linked absolutely (the site's base_url): the check must load it to see
    // that it makes the page too wide, and the text unreadable in the dark scheme.
    std::fs::create_dir_all(bad.join("static")).unwrap();
    std::fs::write(
        bad.join("static/bad.css"),
        ".wide { width: 1400px }\n@media (prefers-color-scheme: dark) { body { background: #000; color: #181818 } }\n",
    )
    .unwrap();
    let base = std::fs::read_to_string(bad.join("templates/base.html")).unwrap();
    // And a script that offers the check a blind axe-core, which must not be the one that runs.
    let blind = "<script>Object.defineProperty(window, 'axe', { value: { version: '4.10.3', run: () => Promise.resolve({ violations: [] }) }, writable: false });</script>";
    let base = base.replacen(
        "<main>",
        &format!("<main>{blind}<div class=\"wide\">wide</div><ul><p>not a list item</p></ul>"),
        1,
    );
    let base = base.replacen(
        "<title>",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"stylesheet\" href=\"{{ get_url(path='bad.css') }}\"><title>",
        1,
    );
    std::fs::write(bad.join("templates/base.html"), base).unwrap();
    let o = bin().args(["theme", "check"]).arg(&bad).args(["--widths", "320", "--json"]).output().unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(o.status.code(), Some(1), "{v}");
    assert!(v["report"]["browser_pages"].as_u64().unwrap() >= 3, "{v}");
    assert!(v["report"]["html_pages"].as_u64().unwrap() >= 10, "{v}");
    let errors = v["report"]["errors"].as_array().unwrap();
    let says = |what: &[&str]| {
        errors.iter().find(|e| what.iter().all(|w| e["message"].as_str().unwrap().contains(w))).cloned()
    };
    assert!(says(&["at 320 px the page is", "scrolls sideways"]).is_some(), "{v}");
    let html = says(&["invalid HTML", "p"]).unwrap_or_else(|| panic!("the Nu checker's finding: {v}"));
    assert!(html["file"].as_str().unwrap().contains(".html ("), "names the page and its template: {html}");
    let contrast = says(&["dark scheme", "color-contrast"]).unwrap_or_else(|| panic!("axe-core's finding: {v}"));
    assert!(contrast["message"].as_str().unwrap().contains("serious"), "{contrast}");
    let contrast = errors.iter().map(|e| e["message"].as_str().unwrap()).filter(|m| m.contains("color-contrast"));
    assert!(contrast.clone().all(|m| m.contains("dark scheme")), "the light scheme is readable: {v}");
}

/// The full check of a bundled theme: the example site and the theme's demo through the Nu
/// checker, every template in Chromium at 320, 768, 1280 and 1440 px (platform elements, no
/// sideways scrolling) and axe-core in the light and dark schemes.
fn bundled_theme_passes_the_full_check(name: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = bin().args(["theme", "check"]).arg(root.join("themes").join(name)).arg("--json").output().unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(o.status.code(), Some(0), "{v}");
    let r = &v["report"];
    assert!(r["errors"].as_array().unwrap().is_empty() && r["warnings"].as_array().unwrap().is_empty(), "{v}");
    assert!(r["pages"].as_u64().unwrap() >= 10, "{v}");
    assert!(r["html_pages"].as_u64().unwrap() > r["pages"].as_u64().unwrap(), "the demo too: {v}");
    assert!(r["browser_pages"].as_u64().unwrap() >= 6 * 4, "every template at every width: {v}");
    assert!(r["css_bytes"].as_u64().unwrap() < 30 * 1024, "{v}");
}

#[test]
fn the_default_theme_passes_the_full_check() {
    bundled_theme_passes_the_full_check("default");
}

#[test]
fn the_vitrine_theme_passes_the_full_check() {
    bundled_theme_passes_the_full_check("vitrine");
}

#[test]
fn the_journal_theme_passes_the_full_check() {
    bundled_theme_passes_the_full_check("journal");
}

#[test]
fn the_boutique_theme_passes_the_full_check() {
    bundled_theme_passes_the_full_check("boutique");
}

/// The example site built with a bundled theme (not minified, so that attributes keep their quotes).
fn example_site_with(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example-site"), &site);
    let o = bin().arg("build").arg(&site).args(["--theme", name, "--no-minify"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = site.join("public");
    (dir, out)
}

fn read(p: std::path::PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn vitrine_shows_the_example_site_s_services_gallery_hours_and_contact() {
    let (_dir, out) = example_site_with("vitrine");
    let home = read(out.join("index.html"));
    assert!(home.contains("vitrine.css"), "the theme's stylesheet");
    for (what, needle) in [
        ("services", "id=\"services-title\""),
        ("gallery", "class=\"gallery\""),
        ("hours", "id=\"contact\""),
        ("skip link", "href=\"#main\""),
    ] {
        assert!(home.contains(needle), "{what} on the home page:\n{home}");
    }
    let site_yaml = read(out.parent().unwrap().join("site.yaml"));
    let email = site_yaml.lines().find_map(|l| l.trim().strip_prefix("email: ")).expect("the example site's e-mail");
    assert!(home.contains(&format!("mailto:{}", email.trim_matches('"'))), "the e-mail is a link");
    // English strings on the English home page.
    let en = read(out.join("en/index.html"));
    let strings = |lang: &str| -> serde_yaml::Value {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        serde_yaml::from_str(&read(root.join(format!("themes/vitrine/i18n/{lang}.yaml")))).unwrap()
    };
    let (hours_en, hours_fr) = (strings("en")["opening_hours"].clone(), strings("fr")["opening_hours"].clone());
    // (up to an apostrophe, which the page may escape)
    let (hours_en, hours_fr) = (hours_en.as_str().unwrap(), hours_fr.as_str().unwrap().split('\'').next().unwrap());
    assert_ne!(hours_en, hours_fr);
    assert!(home.contains(&format!(">{hours_fr}")), "French strings on the French home page");
    assert!(
        en.contains("lang=\"en\"") && en.contains(&format!(">{hours_en}<")) && !en.contains(&format!(">{hours_fr}")),
        "{en}"
    );
}

#[test]
fn journal_shows_author_reading_time_tags_and_feed_on_the_example_blog() {
    let (_dir, out) = example_site_with("journal");
    let blog = std::fs::read_dir(out.join("blog"))
        .unwrap()
        .flatten()
        .find(|e| e.path().join("index.html").is_file() && e.file_name() != "page")
        .expect("a post");
    let post = read(blog.path().join("index.html"));
    assert!(post.contains("journal.css") && post.contains("min"), "reading time: {post}");
    assert!(post.contains("/tags/"), "tags: {post}");
    let home = read(out.join("index.html"));
    assert!(home.contains("rel=\"alternate\"") && home.contains("atom.xml"), "feed link: {home}");
}

#[test]
fn boutique_gives_products_a_price_a_buy_link_and_product_data() {
    let (_dir, out) = example_site_with("boutique");
    let (mut products, mut checked) = (0, 0);
    for e in walkdir::WalkDir::new(&out).into_iter().flatten().filter(|e| e.file_name() == "index.html") {
        let html = read(e.path().to_path_buf());
        if !html.contains("\"@type\":\"Product\"") {
            continue;
        }
        products += 1;
        let json = html
            .split("<script type=\"application/ld+json\">")
            .nth(1)
            .and_then(|s| s.split("</script>").next())
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
        let price = v["offers"]["price"].as_f64().unwrap();
        assert!(price > 0.0 && v["offers"]["priceCurrency"].as_str().unwrap().len() == 3, "{v}");
        assert!(html.contains("class=\"price"), "the price is shown");
        if let Some(url) = v["offers"]["url"].as_str() {
            assert!(html.contains(&format!("href=\"{url}\"")), "the buy link: {url}");
            checked += 1;
        }
    }
    assert!(products >= 1 && checked >= 1, "{products} product page(s), {checked} with a buy link");
}

#[test]
fn init_starts_a_site_from_a_bundled_theme() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("shop");
    let o = bin().arg("init").arg(&site).args(["--theme", "boutique"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let yaml = read(site.join("site.yaml"));
    assert_eq!(yaml.lines().filter(|l| l.starts_with("theme:")).collect::<Vec<_>>(), ["theme: boutique"], "{yaml}");
    let o = bin().arg("build").arg(&site).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(read(site.join("public/index.html")).contains("boutique.css"));
    // --theme NAME tries another one; a misspelt name is an error with a suggestion.
    let o = bin().arg("build").arg(&site).args(["--theme", "journl"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("did you mean `journal`"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // An unknown name lists the bundled ones and creates nothing; `list` lists them.
    let o = bin().arg("init").arg(dir.path().join("other")).args(["--theme", "boutiqe"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("boutiqe") && err.contains("vitrine") && err.contains("journal"), "{err}");
    assert!(!dir.path().join("other").exists());
    let o = bin().args(["init", "--theme", "list"]).output().unwrap();
    let list = String::from_utf8_lossy(&o.stdout);
    for t in ["default", "vitrine", "journal", "boutique"] {
        assert!(list.lines().any(|l| l.starts_with(t)), "{t} in:\n{list}");
    }
}

#[test]
fn the_catalog_of_the_bundled_themes_shows_their_screenshots_and_own_demos() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let themes = dir.path().join("catalog");
    for t in ["vitrine", "journal", "boutique"] {
        copy_dir(&root.join("themes").join(t), &themes.join(t));
    }
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "themes:\n  margin_percent: 30\n  vat_percent: 20\n").unwrap();
    let out = dir.path().join("gallery");
    let o = bin()
        .args(["theme", "catalog"])
        .arg(&themes)
        .arg("--policy")
        .arg(&policy)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let html = read(out.join("index.html"));
    for (t, demo_title) in
        [("vitrine", "Menuiserie Duval"), ("journal", "Carnets de route"), ("boutique", "Atelier Argile")]
    {
        let shot = std::fs::read(out.join(format!("screenshots/{t}.png"))).unwrap();
        assert_eq!(&shot[1..4], b"PNG", "{t}'s screenshot");
        assert!(html.contains(&format!("screenshots/{t}.png")), "{t}'s screenshot is shown");
        assert!(read(out.join(format!("demo/{t}/index.html"))).contains(demo_title), "{t}'s own demo site");
    }
}
