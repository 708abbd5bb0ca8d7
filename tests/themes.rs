//! `sopixi theme statement`: designers' monthly statements from a sales file, checked against
//! hand-computed totals, and bad rows refused with their line.

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
    let o = bin().args(["theme", "check"]).arg(root.join("themes/default")).arg("--json").output().unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert!(v["report"]["pages"].as_u64().unwrap() >= 10, "{v}");
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
    let o = bin().args(["theme", "check"]).arg(&bad).arg("--json").output().unwrap();
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
fn theme_check_in_chromium_finds_a_page_that_scrolls_sideways() {
    let dir = tempfile::tempdir().unwrap();
    let wide = dir.path().join("wide");
    copy_dir(&fixtures().join("partners/themes/basic"), &wide);
    std::fs::write(
        wide.join("theme.yaml"),
        "name: wide\ndescription: Too wide\ndesigner: T\nlicense: MIT\nversion: 1.0.0\n",
    )
    .unwrap();
    let base = std::fs::read_to_string(wide.join("templates/base.html")).unwrap();
    let base = base.replacen("<main>", "<main><div style=\"width:1400px\">wide</div>", 1);
    let base =
        base.replacen("<title>", "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>", 1);
    std::fs::write(wide.join("templates/base.html"), base).unwrap();
    let o =
        bin().args(["theme", "check"]).arg(&wide).args(["--browser", "--widths", "320", "--json"]).output().unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(o.status.code(), Some(1), "{v}");
    assert!(v["report"]["browser_pages"].as_u64().unwrap() >= 3, "{v}");
    let errors = v["report"]["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["message"].as_str().unwrap().contains("at 320 px the page is")
            && e["message"].as_str().unwrap().contains("scrolls sideways")),
        "{v}"
    );
    // The bundled theme holds at both widths.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let o =
        bin().args(["theme", "check"]).arg(root.join("themes/default")).args(["--browser", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert!(v["report"]["browser_pages"].as_u64().unwrap() >= 10, "{v}");
}
