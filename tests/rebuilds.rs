//! Rebuilding into an existing output folder: unchanged files keep their mtime, stale files go,
//! nothing at all is rendered when nothing changed, and foreign folders are never emptied.

use std::time::{Duration, SystemTime};

use crate::support::{snapshot, SiteTest};

fn mtime(t: &SiteTest, rel: &str) -> SystemTime {
    std::fs::metadata(t.path("public").join(rel)).unwrap().modified().unwrap()
}

/// Sets every output file's mtime in the past, so a rewrite is visible whatever the clock.
fn age_output(t: &SiteTest) {
    let old = filetime::FileTime::from_system_time(SystemTime::now() - Duration::from_secs(3600));
    for e in walkdir::WalkDir::new(t.path("public")).into_iter().filter_map(Result::ok) {
        if e.file_type().is_file() && e.file_name() != ".sopixi-output.json" {
            filetime::set_file_mtime(e.path(), old).unwrap();
        }
    }
    // The manifest's stamps no longer match: the next build must compare bytes, not trust stamps.
}

#[test]
fn unchanged_files_are_not_rewritten_and_stale_ones_removed() {
    let t = SiteTest::new("blog");
    t.build();
    age_output(&t);
    let about_before = mtime(&t, "about/index.html");
    let second_before = mtime(&t, "blog/second/index.html");
    t.write(
        "content/blog/second.md",
        "---\ntitle: Second post, edited\ndate: 2024-02-10\ntags: [rust]\n---\nNew body.\n",
    );
    t.remove("content/blog/third.md");
    let r = t.build_with(&["--json"]);
    let v = r.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["up_to_date"], false);
    assert!(v["removed"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["unchanged"].as_u64().unwrap() > 10, "{v}");
    assert_eq!(mtime(&t, "about/index.html"), about_before, "unchanged page must keep its mtime");
    assert_ne!(mtime(&t, "blog/second/index.html"), second_before, "changed page is rewritten");
    assert!(t.read("blog/second/index.html").contains("New body."));
    assert!(!t.exists("blog/le-troisieme/index.html"), "page of a deleted file is removed");
    assert!(!t.exists("blog/le-troisieme"), "its emptied folder too");
}

#[test]
fn no_change_rebuild_renders_nothing() {
    let t = SiteTest::new("blog");
    t.build();
    let before = mtime(&t, "index.html");
    let v = t.build_with(&["--json"]).json();
    assert_eq!(v["up_to_date"], true, "{v}");
    assert_eq!(v["written"], 0);
    assert_eq!(mtime(&t, "index.html"), before);
    // A deleted output file is noticed and rebuilt.
    std::fs::remove_file(t.path("public/about/index.html")).unwrap();
    let v = t.build_with(&["--json"]).json();
    assert_eq!(v["up_to_date"], false);
    assert_eq!(v["written"], 1, "{v}");
    assert!(t.exists("about/index.html"));
    // Changing an option is a change.
    let v = t.build_with(&["--json", "--drafts"]).json();
    assert_eq!(v["up_to_date"], false);
    assert!(t.exists("blog/draft/index.html"));
}

#[test]
fn files_sopixi_did_not_write_are_left_alone() {
    let t = SiteTest::new("blog");
    t.build();
    std::fs::create_dir_all(t.path("public/.git")).unwrap();
    std::fs::write(t.path("public/.git/HEAD"), "ref").unwrap();
    std::fs::write(t.path("public/CNAME"), "www.example.org").unwrap();
    t.write("content/new.md", "---\ntitle: New\n---\n");
    t.remove("content/blog/second.md");
    let v = t.build_with(&["--json"]).json();
    assert_eq!(v["removed"], 1, "{v}");
    assert!(t.path("public/.git/HEAD").exists());
    assert!(t.exists("CNAME"));
    assert!(!t.exists("blog/second"));
}

#[test]
fn foreign_output_folder_is_refused() {
    let t = SiteTest::new("blog");
    let foreign = t.path("not-ours");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("precious.txt"), "keep me").unwrap();
    let root = t.root.to_string_lossy().into_owned();
    let r = t.run(&["build", &root, "-o", foreign.to_str().unwrap()]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("was not written by sopixi"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(foreign.join("precious.txt")).unwrap(), "keep me");
}

/// Entries of the site folder that look like a build's staging folder.
fn staging_leftovers(t: &SiteTest) -> Vec<String> {
    std::fs::read_dir(&t.root)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sopixi-staging"))
        .collect()
}

#[test]
fn fresh_build_writes_through_a_staging_folder() {
    let t = SiteTest::new("blog");
    // Left by a build that was killed (no process has this id): removed by the next build.
    let abandoned = t.path(".public.sopixi-staging-4000000000");
    std::fs::create_dir_all(abandoned.join("blog")).unwrap();
    std::fs::write(abandoned.join("blog/index.html"), "half a site").unwrap();
    // An empty output folder counts as fresh.
    std::fs::create_dir_all(t.path("public")).unwrap();
    let v = t.build_with(&["--json"]).json();
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["written"], v["files"], "{v}");
    assert!(t.exists("index.html") && t.exists(".sopixi-output.json"));
    assert_eq!(staging_leftovers(&t), Vec::<String>::new());

    // The same site written by the other path (an output folder sopixi wrote before, compared
    // file by file) has the same bytes.
    let other = t.path("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join(".sopixi-output.json"), "{}").unwrap();
    t.build_with(&["-o", other.to_str().unwrap()]);
    let strip = |s: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
        s.into_iter().filter(|(p, _)| p != ".sopixi-output.json").collect()
    };
    let fresh = strip(snapshot(&t.path("public")));
    assert!(fresh.len() > 20);
    assert!(fresh == strip(snapshot(&other)), "a fresh build and a full rewrite differ");
    // Deploy and the no-change check trust the fresh build's manifest.
    let v = t.build_with(&["--json"]).json();
    assert_eq!(v["up_to_date"], true, "{v}");
}

#[test]
fn failed_fresh_build_leaves_no_output_folder() {
    let t = SiteTest::new("blog");
    // A page whose template fails while rendering: other pages were already written out.
    t.write("templates/broken.html", "{{ no_such_variable }}");
    t.write("content/broken.md", "---\ntitle: Broken\ntemplate: broken.html\n---\nBody.\n");
    let r = t.build_fails();
    assert!(r.stderr.contains("no_such_variable"), "{}", r.stderr);
    assert!(!t.path("public").exists(), "no half-written site");
    assert_eq!(staging_leftovers(&t), Vec::<String>::new());
}
