//! `sopixi export` (the archive's round trip, determinism, what is left out, the personal-data
//! report) and `sopixi import hugo|zola` over the fixture sites of `tests/fixtures/import/`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::support::{bin, copy_dir, fixtures, snapshot, Run};

fn run(args: &[&str]) -> Run {
    let out = bin().args(args).output().unwrap();
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(args: &[&str]) -> Run {
    let r = run(args);
    assert_eq!(r.status, 0, "{args:?}:\n{}\n{}", r.stdout, r.stderr);
    r
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The archive's files: path → bytes.
fn unpack(archive: &Path) -> BTreeMap<String, Vec<u8>> {
    let raw = zstd::decode_all(std::fs::File::open(archive).unwrap()).unwrap();
    let mut tar = tar::Archive::new(&raw[..]);
    let mut out = BTreeMap::new();
    for e in tar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
        assert_eq!(e.header().mtime().unwrap(), 1_767_225_600, "{path}: not the fixed time");
        out.insert(path, bytes);
    }
    out
}

fn write_all(files: &BTreeMap<String, Vec<u8>>, to: &Path) {
    for (p, b) in files {
        let path = to.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b).unwrap();
    }
}

fn example() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("example-site"), &site);
    (dir, site)
}

#[test]
fn an_export_rebuilds_byte_for_byte_and_is_the_same_archive_twice() {
    let (dir, site) = example();
    let a = dir.path().join("a.tar.zst");
    let b = dir.path().join("b.tar.zst");
    ok(&["export", s(&site), "-o", s(&a)]);
    ok(&["export", s(&site), "-o", s(&b)]);
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(), "two exports of one site differ");
    let files = unpack(&a);
    assert!(files.contains_key("README.md") && files.contains_key("site/site.yaml"));
    assert!(files.keys().any(|k| k.starts_with("site/themes/default/templates/")), "the bundled theme is in it");
    assert!(!files.keys().any(|k| k.starts_with("site/public/") || k.contains(".sopixi-")), "no build state");
    let readme = String::from_utf8_lossy(&files["README.md"]).into_owned();
    assert!(
        readme.contains("Publier le site ailleurs") && readme.contains("Hugo"),
        "a French README for a French site"
    );
    // Extracted anywhere, the sources rebuild the very same site.
    let x = dir.path().join("x");
    write_all(&files, &x);
    ok(&["build", s(&x.join("site")), "-o", s(&x.join("rebuilt"))]);
    let archived: Vec<(String, Vec<u8>)> = snapshot(&x.join("public"));
    let rebuilt: Vec<(String, Vec<u8>)> =
        snapshot(&x.join("rebuilt")).into_iter().filter(|(k, _)| k != ".sopixi-output.json").collect();
    assert!(archived.len() > 50, "{}", archived.len());
    assert_eq!(archived.iter().map(|f| &f.0).collect::<Vec<_>>(), rebuilt.iter().map(|f| &f.0).collect::<Vec<_>>());
    for ((p, x), (_, y)) in archived.iter().zip(&rebuilt) {
        assert!(x == y, "{p} differs after the round trip");
    }
    // Without the build.
    let c = dir.path().join("c.tar.zst");
    ok(&["export", s(&site), "-o", s(&c), "--no-build"]);
    assert!(!unpack(&c).keys().any(|k| k.starts_with("public/")));
    // Never inside the site folder.
    let r = run(&["export", s(&site), "-o", s(&site.join("content/x.tar.zst"))]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("inside the site folder"), "{}", r.stderr);
}

#[test]
fn library_media_and_paid_catalog_themes_stay_out_of_an_export() {
    let (dir, site) = example();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "library_media:\n  - content/blog/new-oven/oven.jpg\n").unwrap();
    let catalog = dir.path().join("catalog");
    copy_dir(&fixtures().join("partners/themes/basic"), &catalog.join("basic"));
    let meta = catalog.join("basic/theme.yaml");
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, format!("{text}price: 29\n")).unwrap();
    let yaml = std::fs::read_to_string(site.join("site.yaml")).unwrap();
    std::fs::write(site.join("site.yaml"), yaml.replace("theme: default", "theme: basic")).unwrap();
    assert!(std::fs::read_to_string(site.join("site.yaml")).unwrap().contains("theme: basic"));
    let out = dir.path().join("e.tar.zst");
    let r = ok(&["export", s(&site), "-o", s(&out), "--policy", s(&policy), "--themes", s(&catalog), "--json"]);
    let v = r.json();
    assert_eq!(v["export"]["theme_included"], false, "{v}");
    let files = unpack(&out);
    assert!(!files.keys().any(|k| k.starts_with("site/themes/basic")), "a paid theme was put in the archive");
    assert!(!files.contains_key("site/content/blog/new-oven/oven.jpg"));
    assert!(!files.keys().any(|k| k == "public/blog/new-oven/oven.jpg"));
    let left = String::from_utf8_lossy(&files["LEFT-OUT.txt"]).into_owned();
    assert!(
        left.contains("site/content/blog/new-oven/oven.jpg") || left.contains("content/blog/new-oven/oven.jpg"),
        "{left}"
    );
    let readme = String::from_utf8_lossy(&files["README.md"]).into_owned();
    assert!(readme.contains("`basic 1.0.0`") && readme.contains("payant"), "{readme}");
}

#[test]
fn the_personal_data_report_says_what_and_where() {
    let (dir, site) = example();
    std::fs::write(
        site.join("content/contact.md"),
        "---\ntitle: Contact\nextra:\n  email: shop@boulangerie.example\n---\nWrite to Anne at anne.martin@boulangerie.example or call 04 72 00 00 01.\n\n<form action=\"https://forms.example/f/abc\" method=\"post\"><input name=\"email\"></form>\n",
    )
    .unwrap();
    let out = dir.path().join("pd.json");
    ok(&["export", s(&site), "--personal-data", "-o", s(&out)]);
    let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let has = |kind: &str, value: &str| v["summary"][kind].as_array().is_some_and(|a| a.iter().any(|x| x == value));
    assert!(has("author", "Boulangerie Sopixi"), "{v}");
    assert!(has("contact", "12 Rue du Four, 69001 Lyon"), "{v}");
    assert!(has("phone", "+33 4 00 00 00 00") && has("phone", "04 72 00 00 01"), "{v}");
    assert!(has("email", "anne.martin@boulangerie.example") && has("email", "shop@boulangerie.example"), "{v}");
    assert!(has("form_target", "https://forms.example/f/abc"), "{v}");
    let find = |value: &str| v["findings"].as_array().unwrap().iter().find(|f| f["value"] == value).cloned().unwrap();
    let f = find("anne.martin@boulangerie.example");
    assert_eq!((f["file"].as_str(), f["line"].as_u64()), (Some("content/contact.md"), Some(6)), "{f}");
    let f = find("shop@boulangerie.example");
    assert_eq!((f["key"].as_str(), f["line"].as_u64()), (Some("extra.email"), Some(4)), "{f}");
    let f = find("+33 4 00 00 00 00");
    assert_eq!(f["file"], "site.yaml");
}

/// `sopixi import KIND fixture -o OUT` and its JSON report; the source is left as it was.
fn import(kind: &str) -> (tempfile::TempDir, std::path::PathBuf, Value) {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("import").join(kind);
    let before = snapshot(&src);
    let out = dir.path().join("site");
    let v = ok(&["import", kind, s(&src), "-o", s(&out), "--json"]).json();
    assert!(snapshot(&src) == before, "the import wrote into its source");
    // Again: the same files (an earlier import's folder is made again).
    let first = snapshot(&out);
    ok(&["import", kind, s(&src), "-o", s(&out)]);
    assert!(snapshot(&out) == first, "a second import gave other files");
    // It builds with the bundled theme.
    ok(&["build", s(&out)]);
    (dir, out, v["report"].clone())
}

fn front(out: &Path, rel: &str) -> Value {
    let text = std::fs::read_to_string(out.join("content").join(rel)).unwrap();
    let fm = text.strip_prefix("---\n").unwrap().split("\n---\n").next().unwrap();
    let y: serde_yaml::Value = serde_yaml::from_str(fm).unwrap();
    serde_json::to_value(y).unwrap()
}

fn body(out: &Path, rel: &str) -> String {
    let text = std::fs::read_to_string(out.join("content").join(rel)).unwrap();
    text.splitn(3, "---\n").nth(2).unwrap().to_string()
}

#[test]
fn a_hugo_site_is_converted_key_by_key_and_builds() {
    let (_dir, out, report) = import("hugo");
    let site: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(out.join("site.yaml")).unwrap()).unwrap();
    let site = serde_json::to_value(site).unwrap();
    assert_eq!(site["title"], "The Old Bakery");
    assert_eq!(site["base_url"], "https://old-bakery.example/");
    assert_eq!(site["language"], "en");
    assert_eq!(site["taxonomies"], serde_json::json!(["categories", "genres", "tags"]));
    assert_eq!(site["description"], "Bread since 1920");
    assert_eq!(site["extra"]["motto"], "Flour, water, time");
    let menu: Vec<&str> =
        site["menus"]["main"].as_array().unwrap().iter().map(|m| m["url"].as_str().unwrap()).collect();
    assert_eq!(
        menu,
        vec!["@/about.md", "https://example.org/source"],
        "pageRef and url entries; a page's own menu entry once"
    );
    let first = front(&out, "posts/first.md");
    assert_eq!(first["slug"], "hello");
    assert_eq!(first["date"], "2024-03-01T09:30:00+01:00");
    assert_eq!(first["updated"], "2024-03-05", "lastmod");
    assert_eq!(first["description"], "The first one.", "summary");
    assert_eq!(first["tags"], serde_json::json!(["news", "bread"]));
    assert_eq!(first["categories"], serde_json::json!(["life"]));
    assert_eq!(first["genres"], serde_json::json!(["howto"]), "a taxonomy the configuration names, not an extra");
    assert_eq!(first["weight"], 3);
    assert_eq!(first["draft"], false);
    assert_eq!(first["extra"]["keywords"], serde_json::json!(["oven"]), "unknown keys under extra");
    let moved = front(&out, "posts/moved.md");
    assert_eq!(
        (moved["slug"].as_str(), moved["date"].as_str()),
        (Some("christmas"), Some("2023-12-24")),
        "url, publishDate"
    );
    assert_eq!(moved["aliases"], serde_json::json!(["/2023/christmas.html"]));
    let about = front(&out, "about.md");
    assert_eq!(about["aliases"], serde_json::json!(["/who/"]));
    assert_eq!(about["extra"]["author"], "Anne Baker");
    let b = body(&out, "posts/first.md");
    assert!(b.contains(r#"{{ figure(src="/img/loaf.jpg", caption="A loaf", alt="Round loaf") }}"#), "{b}");
    assert!(b.contains("[trip](@/posts/trip/index.md)"), "relref: {b}");
    assert!(b.contains("```rust\nfn main() {}\n```"), "highlight: {b}");
    assert!(b.contains("<!-- more -->"), "{b}");
    assert!(b.contains("`{{< unknown-widget color=\"red\" >}}`"), "left readable: {b}");
    assert!(body(&out, "_index.md").contains("[our story](@/about.md)"), "ref");
    // A YouTube id becomes sopixi's `video`, which waits for the visitor's consent.
    let about = body(&out, "about.md");
    assert!(about.contains(r#"{{ video(src="https://www.youtube.com/watch?v=dQw4w9WgXcQ") }}"#), "{about}");
    assert!(body(&out, "posts/trip/index.md").contains(r#"{{ gallery(images=["a.jpg", "b.jpg"]) }}"#));
    assert!(
        out.join("content/posts/trip/a.jpg").is_file()
            && out.join("static/img/loaf.jpg").is_file()
            && out.join("data/shop.yaml").is_file()
    );
    let warnings = report["warnings"].as_array().unwrap();
    let w = warnings
        .iter()
        .find(|w| w["message"].as_str().unwrap().contains("unknown-widget"))
        .expect("the unknown shortcode is listed");
    assert_eq!((w["file"].as_str(), w["line"].as_u64()), (Some("content/posts/first.md"), Some(18)), "{w}");
    assert!(warnings.iter().any(|w| w["file"] == "layouts/"), "templates are said not to be converted");
    // The built site has the old address as a redirect.
    assert!(out.join("public/2023/christmas.html").is_file());
    // Never into its own source, never over a folder it did not make.
    let r = run(&["import", "hugo", s(&fixtures().join("import/hugo")), "-o", s(&fixtures().join("import/hugo/out"))]);
    assert_eq!(r.status, 1);
    let r = run(&["import", "hugo", s(&fixtures().join("import/hugo")), "-o", s(&out.join("content"))]);
    assert_eq!(r.status, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not made by `sopixi import`"), "{}", r.stderr);
}

#[test]
fn a_zola_site_is_converted_key_by_key_and_builds() {
    let (_dir, out, report) = import("zola");
    let site: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(out.join("site.yaml")).unwrap()).unwrap();
    let site = serde_json::to_value(site).unwrap();
    assert_eq!(site["language"], "fr");
    assert_eq!(site["languages"]["en"]["title"], "Green Garden (English)");
    assert_eq!(site["taxonomies"], serde_json::json!(["seasons", "tags"]));
    assert_eq!(site["author"], "Paul Gardener");
    let t = front(&out, "blog/tomatoes.md");
    assert_eq!(t["slug"], "tomatoes-2024", "path");
    assert_eq!(t["aliases"], serde_json::json!(["/old/tomatoes/", "/tomatoes-2024/"]));
    assert_eq!(t["tags"], serde_json::json!(["potager"]));
    assert_eq!(t["seasons"], serde_json::json!(["printemps"]));
    assert_eq!(t["updated"], "2024-03-12T08:00:00Z");
    assert_eq!(t["extra"]["difficulty"], "easy");
    assert_eq!(t["extra"]["in_search_index"], true);
    let home = front(&out, "_index.md");
    assert_eq!((home["sort_by"].as_str(), home["paginate_by"].as_u64()), (Some("date"), Some(5)));
    assert_eq!(front(&out, "blog/_index.md")["extra"]["original_template"], "section.html");
    let b = body(&out, "blog/tomatoes.md");
    assert!(b.contains("[Video on YouTube](https://www.youtube.com/watch?v=abc123)"), "{b}");
    assert!(b.contains(r#"{{ figure(src="/tomato.jpg", caption="Une tomate") }}"#), "ours, kept: {b}");
    assert!(b.contains("Arrosez le soir.") && !b.contains("{% note"), "a block shortcode keeps its body: {b}");
    assert!(b.contains("(@/blog/seeds.md)"));
    assert!(out.join("content/blog/tomatoes.en.md").is_file(), "translations");
    let warnings = report["warnings"].as_array().unwrap();
    let w = warnings.iter().find(|w| w["message"].as_str().unwrap().contains("unknown_thing")).expect("listed");
    assert_eq!((w["file"].as_str(), w["line"].as_u64()), (Some("content/blog/seeds.md"), Some(5)), "{w}");
    assert!(out.join("public/en/index.html").is_file(), "the English tree is built");
}

/// `sopixi import KIND` of the fixture `import/FIXTURE`, built; the report and the build's output.
fn import_and_build(kind: &str, fixture: &str) -> (tempfile::TempDir, std::path::PathBuf, Value, Run) {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("import").join(fixture);
    let before = snapshot(&src);
    let out = dir.path().join("site");
    let v = ok(&["import", kind, s(&src), "-o", s(&out), "--json"]).json();
    assert!(snapshot(&src) == before, "the import wrote into its source");
    let built = ok(&["build", s(&out), "--json"]);
    (dir, out, v["report"].clone(), built)
}

#[test]
fn a_hugo_site_like_real_ones_imports_and_builds_without_errors() {
    // Each class of failure met importing a real Hugo site (the Stack theme's demo), as a
    // regression: a configuration folder, taxonomy term pages with their own content, a
    // regional language beside its language, images from `assets/` used by `figure` and by
    // Markdown (one with a README-style `?raw=true`), non-ASCII text beside a shortcode (the
    // import panicked on it).
    let (_dir, out, report, built) = import_and_build("hugo", "hugo-real-world");
    let site: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(out.join("site.yaml")).unwrap()).unwrap();
    let site = serde_json::to_value(site).unwrap();
    assert_eq!(
        (site["title"].as_str(), site["base_url"].as_str()),
        (Some("Atelier"), Some("https://atelier.example/"))
    );
    assert_eq!(site["description"], "Woodwork since 1987", "params.toml is read: {site}");
    assert_eq!(site["languages"], serde_json::json!({"zh": {"title": "工坊"}}), "{site}");
    let warnings = report["warnings"].as_array().unwrap();
    let said = |what: &str| warnings.iter().find(|w| w["message"].as_str().unwrap().contains(what)).cloned();
    let dropped = said("`zh-hant-tw` is not imported").expect("the left-out language is said");
    assert_eq!(dropped["file"], "config/_default/");
    assert!(!out.join("content/posts/bench.zh-hant-tw.md").exists(), "its files are left out");
    assert!(out.join("content/posts/bench.zh.md").exists());
    let term = said("taxonomy or term page").expect("the term page is said");
    assert_eq!(term["file"], "content/categories/News/_index.md");
    assert!(!out.join("content/categories").exists());
    // The images content uses from assets/ are in static/, the unused one is not.
    assert_eq!(report["from_assets"], serde_json::json!(["img/bench.png", "img/logo.png"]));
    assert!(out.join("static/img/bench.png").is_file() && !out.join("static/img/unused.png").exists());
    // It built with no error, and the images are pictures (the query did not lose the file).
    let b = built.json();
    assert_eq!(b["status"], "ok", "{b}");
    let page = std::fs::read_to_string(out.join("public/posts/bench/index.html")).unwrap();
    assert_eq!(page.matches("<picture>").count(), 3, "figure and both Markdown images: {page}");
    assert!(std::fs::read_to_string(out.join("public/zh/posts/bench/index.html")).unwrap().contains("誰のため"));
}

#[test]
fn a_zola_site_whose_shortcodes_hold_code_spans_imports_and_builds() {
    // From a real Zola site (the tabi theme's own site): shortcodes of its theme whose
    // arguments hold code spans, one with quotes that do not pair up. They were cut in two by
    // the code spans, left as calls, and broke the build.
    let (_dir, out, report, built) = import_and_build("zola", "zola-real-world");
    assert_eq!(built.json()["status"], "ok");
    let text = body(&out, "blog/settings.md");
    assert!(text.contains("``{{ admonition(type=\"info\""), "shown as code, its own backticks kept: {text}");
    assert!(text.contains("`paginate_by = 5`"), "a real code span stays: {text}");
    let unknown = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["message"].as_str().unwrap().contains("`admonition` has no sopixi equivalent"));
    let lines: Vec<u64> = unknown.map(|w| w["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [7, 9], "each call named at its line");
    let page = std::fs::read_to_string(out.join("public/blog/settings/index.html")).unwrap();
    assert!(page.contains("<code>{{ admonition(type=\"info\", text=\"This only changes"), "shown as written: {page}");
}
