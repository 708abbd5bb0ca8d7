//! Large sites: a plain build of 1,000 pages or more keeps page bodies in a spill file between
//! conversion and rendering, and writes exactly what an in-memory build of the same site makes.

use std::path::Path;

use crate::support::{snapshot, SiteTest};

/// The example site with 1,050 more pages: headings (tables of contents), code, internal links
/// between them, tags, dates, summaries, a page shown in two languages' listings.
fn large_site() -> SiteTest {
    let t = SiteTest::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("example-site"));
    t.write("content/notes/_index.md", "---\ntitle: Notes\nsort_by: date\npaginate_by: 50\n---\nAll the notes.\n");
    for i in 0..1050 {
        let more = if i % 3 == 0 { "First part of the note.\n\n<!-- more -->\n\n" } else { "" };
        let link = if i > 0 { format!("See [the previous note](@/notes/n{:04}.md).", i - 1) } else { String::new() };
        t.write(
            &format!("content/notes/n{i:04}.md"),
            &format!(
                "---\ntitle: \"Note {i} — é\"\ndate: 2025-{:02}-{:02}\ntags: [t{}, all]\ndescription: Note number {i}\n---\n{more}## Heading {i}\n\nText with *emphasis* and `code` {i}. {link}\n\n```rust\nfn note_{i}() -> u32 {{ {i} }}\n```\n\n### Sub {i}\n\n- one\n- two\n",
                i % 12 + 1,
                i % 28 + 1,
                i % 7
            ),
        );
    }
    t
}

#[test]
fn a_large_sites_bodies_wait_on_disk_and_the_output_is_the_in_memory_builds() {
    let t = large_site();
    let r = t.build_with(&["--json"]);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let spilled = v["bodies_spilled_bytes"].as_u64().unwrap();
    assert!(spilled > 1050 * 200, "the bodies went to the spill file: {spilled} bytes");
    assert_no_spill_file_left(&t);

    assert_same_as_in_memory(&t);
    // The bodies are really there: a note's own page, and the feed's contents.
    let page = t.read("notes/n0500/index.html");
    assert!(page.contains("Heading 500") && page.contains("note_500") && page.contains("/notes/n0499/"), "{page}");
    let feed = t.read("atom.xml");
    assert!(feed.contains("Heading ") && feed.contains("note_"), "{feed}");
}

/// No spill file is left beside the output (each is unlinked as soon as it is open).
fn assert_no_spill_file_left(t: &SiteTest) {
    let beside: Vec<String> = std::fs::read_dir(t.root.clone())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("spill"))
        .collect();
    assert!(beside.is_empty(), "no spill file is left: {beside:?}");
}

/// Every file of the site's `public/` is the one an in-memory build of the same site (in this
/// process: bodies held, nothing spilled) makes.
fn assert_same_as_in_memory(t: &SiteTest) {
    let engine = sopixi::build::engine::Engine::new(sopixi::policy::Policy::default());
    let built = sopixi::build::build(&engine, &t.root, &sopixi::site::config::BuildOptions::default()).unwrap();
    let on_disk: Vec<(String, Vec<u8>)> =
        snapshot(&t.path("public")).into_iter().filter(|(p, _)| p != ".sopixi-output.json").collect();
    assert_eq!(on_disk.len(), built.output.len(), "the same files");
    let mut compared = 0;
    for (path, bytes) in &on_disk {
        let mem = built.output.bytes(path).unwrap_or_else(|| panic!("{path} only on disk")).unwrap();
        assert!(mem.as_ref() == bytes.as_slice(), "{path} differs");
        compared += 1;
    }
    assert!(compared > 1050);
}

/// A plain build of a site of 20,000 Markdown files or more moves each body out of memory from
/// reading to converting (to a spill file beside the output; the threshold is lowered here):
/// the output is byte for byte the same, including what only the bodies tell (the privacy
/// page's embeds, code highlighting), files without front matter or with a byte-order mark.
#[test]
fn a_very_large_sites_sources_wait_on_disk_until_converted_and_the_output_is_the_same() {
    let t = large_site();
    t.write("content/plain.md", "No front matter at all, just *text* and `code`.\n");
    t.write("content/bom.md", "\u{feff}---\ntitle: With a BOM\n---\nThe body after a byte-order mark.\n");
    t.write("content/empty-body.md", "---\ntitle: Only front matter\n---\n");
    t.write(
        "content/visit.md",
        "---\ntitle: Visit\n---\nWrite to us:\n\n{{ contact_form() }}\n\n{{ video(src=\"https://vimeo.com/76979871\") }}\n",
    );
    let root = t.root.to_string_lossy().into_owned();
    let r = t.run_env(&["build", &root, "--json"], &[("SOPIXI_DEFER_FROM_FILES", "1")]);
    assert_eq!(r.status, 0, "{}\n{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let deferred = v["bodies_deferred"].as_u64().unwrap();
    assert!(deferred > 1050, "the bodies waited on disk: {deferred}");
    assert_no_spill_file_left(&t);
    let privacy = t.read("confidentialite/index.html");
    assert!(privacy.contains("Vimeo"), "the privacy page names what only a body uses");
    assert!(t.read("bom/index.html").contains("after a byte-order mark"));
    assert!(t.read("plain/index.html").contains("<em>text</em>"));
    assert_same_as_in_memory(&t);
    // Without the lower threshold, a site of this size holds its bodies (a new output folder:
    // the build is not skipped as up to date).
    let other = t.root.join("public-held");
    let r = t.build_with(&["--json", "-o", other.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["up_to_date"], false, "{v}");
    assert_eq!(v["bodies_deferred"], 0, "{v}");
    // An output folder whose parent does not exist yet: the sources still wait on disk, beside
    // where it will be, and nothing but the output is left there.
    let nested = t.root.join("new/nested/out");
    let r = t.run_env(&["build", &root, "--json", "-o", nested.to_str().unwrap()], &[("SOPIXI_DEFER_FROM_FILES", "1")]);
    assert_eq!(r.status, 0, "{}\n{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert!(v["bodies_deferred"].as_u64().unwrap() > 1050, "{v}");
    let left: Vec<_> = std::fs::read_dir(t.root.join("new/nested")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("out")]);
}

#[test]
fn a_page_whose_front_matter_nests_as_deep_as_yaml_allows_is_listed_and_rendered() {
    // 126 lists inside `extra`: YAML takes it; the page's listed value is one level deeper.
    let t = SiteTest::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("example-site"));
    let deep = format!("{}1{}", "[".repeat(126), "]".repeat(126));
    t.write("content/deep.md", &format!("---\ntitle: Deep note\nextra:\n  a: {deep}\n---\nHello deep.\n"));
    t.build();
    assert!(t.read("deep/index.html").contains("Deep note"));
}
