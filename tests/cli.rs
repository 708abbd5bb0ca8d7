//! The command line as a new user meets it: init, build, help, summary line, exit statuses.

use crate::support::{bin, SiteTest};

#[test]
fn init_then_build_works() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().args(["init", "my-site"]).current_dir(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let site = dir.path().join("my-site");
    assert!(site.join("site.yaml").exists());
    assert!(site.join("content/_index.md").exists());
    assert!(!site.join("public").exists(), "no build output is shipped");
    let ignored = std::fs::read_to_string(site.join(".gitignore")).unwrap();
    for line in ["public/", ".sopixi-cache/", ".*.sopixi-staging-*/"] {
        assert!(ignored.lines().any(|l| l == line), "{line} in .gitignore:\n{ignored}");
    }
    let out = bin().args(["build", "my-site"]).current_dir(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // 14 written pages, and the legal notice, privacy and thank-you pages in French and English.
    assert!(stdout.starts_with("Built 20 pages, 6 sections, "), "{stdout}");
    assert!(stdout.contains(" files (") && stdout.contains(" images made, 0 from the cache) in "), "{stdout}");
    assert!(site.join("public/index.html").exists());
    assert!(site.join("public/style.css").exists(), "bundled theme static files are published");
    // init refuses to overwrite.
    let out = bin().args(["init", "my-site"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[test]
fn help_teaches() {
    let out = bin().args(["build", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in
        ["--drafts", "--base-url", "--jobs", "--json", "--output", "previous output is left untouched", "Exit status"]
    {
        assert!(help.contains(needle), "{needle} missing from help:\n{help}");
    }
    let out = bin().arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("sopixi init my-site"));
    let out = bin().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit with 2");
}

#[test]
fn json_summary_and_no_colour() {
    let t = SiteTest::new("blog");
    let root = t.root.to_string_lossy().into_owned();
    let r = t.run(&["build", &root, "--json"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["pages"], 5, "drafts are not counted");
    assert_eq!(v["sections"], 3);
    assert!(v["files"].as_u64().unwrap() > 20);
    assert_eq!(v["written"], v["files"]);
    t.write("content/a.md", "---\ntitel: A\n---\n");
    let r = t.build_fails();
    assert!(!r.stderr.contains('\u{1b}'), "NO_COLOR: no escape codes");
    assert!(r.stderr.starts_with("error: content/a.md:2:1: unknown front matter key `titel`"), "{}", r.stderr);
    assert!(r.stderr.contains("  help: did you mean `title`?"), "{}", r.stderr);
}
