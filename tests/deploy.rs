//! `sopixi deploy` against a real S3 server (SeaweedFS, started by each test) and, for the same
//! core suite, a `file://` folder.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::s3::{built_files, Backend, Obj, SECRET_KEY};
use crate::support::{bin, Run, SiteTest};

/// `sopixi deploy SITE --to URL EXTRA…` with the backend's credentials.
fn deploy(t: &SiteTest, b: &Backend, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let (root, url) = (t.root.to_string_lossy().into_owned(), b.url());
    b.run(&[&["deploy", root.as_str(), "--to", url.as_str()][..], extra].concat(), env)
}

/// A deploy that must succeed; its JSON summary.
fn deploy_ok(t: &SiteTest, b: &Backend, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let r = deploy(t, b, &args, &[]);
    assert_eq!(r.status, 0, "deploy failed:\nstdout: {}\nstderr: {}", r.stdout, r.stderr);
    r.json()
}

/// The target holds exactly the built files (plus the manifest and `foreign`), byte for byte.
fn assert_mirrors(t: &SiteTest, b: &Backend, foreign: &[&str]) -> BTreeMap<String, Obj> {
    let objects = b.objects();
    let built = built_files(&t.path("public"));
    for (k, bytes) in &built {
        let o = objects.get(k).unwrap_or_else(|| panic!("{k} is missing from the target"));
        assert!(o.bytes == *bytes, "{k} differs on the target");
    }
    let extra: Vec<&String> = objects
        .keys()
        .filter(|k| !built.contains_key(*k) && *k != ".sopixi-deploy.json" && !foreign.contains(&k.as_str()))
        .collect();
    assert!(extra.is_empty(), "unexpected objects on the target: {extra:?}");
    assert!(objects.contains_key(".sopixi-deploy.json"), "no manifest");
    objects
}

fn both(f: impl Fn(Backend)) {
    f(Backend::folder());
    f(Backend::s3());
}

#[test]
fn first_deploy_publishes_every_file_with_its_headers_s3() {
    let b = Backend::s3();
    let t = SiteTest::new("blog");
    let s = deploy_ok(&t, &b, &[]);
    let objects = assert_mirrors(&t, &b, &[]);
    let files = built_files(&t.path("public")).len();
    assert_eq!(s["uploaded"], files, "{s}");
    assert_eq!(s["unchanged"], 0);
    let headers = |k: &str| {
        let o = &objects[k];
        (o.content_type.as_deref().unwrap_or(""), o.cache_control.as_deref().unwrap_or(""))
    };
    let revalidate = "public, max-age=0, must-revalidate";
    assert_eq!(headers("index.html"), ("text/html; charset=utf-8", revalidate));
    assert_eq!(headers("blog/first/index.html"), ("text/html; charset=utf-8", revalidate));
    assert_eq!(headers("theme.css"), ("text/css; charset=utf-8", "public, max-age=3600"));
    assert_eq!(
        headers("_sopixi/platform.js"),
        ("text/javascript; charset=utf-8", "public, max-age=31536000, immutable")
    );
    assert_eq!(headers("blog/trip/photo.jpg"), ("image/jpeg", "public, max-age=3600"));
    assert_eq!(headers("atom.xml"), ("application/atom+xml; charset=utf-8", revalidate));
    assert_eq!(headers("sitemap.xml"), ("application/xml; charset=utf-8", revalidate));
    assert_eq!(headers("docs/guide.pdf").0, "application/pdf");
    assert_eq!(headers("humans.txt").0, "text/plain; charset=utf-8");
    for (k, o) in &objects {
        assert!(o.content_type.is_some() && o.cache_control.is_some(), "{k} has no headers");
    }
}

#[test]
fn first_deploy_publishes_every_file_folder() {
    let b = Backend::folder();
    let t = SiteTest::new("blog");
    let s = deploy_ok(&t, &b, &[]);
    assert_mirrors(&t, &b, &[]);
    assert_eq!(s["uploaded"], built_files(&t.path("public")).len());
}

#[test]
fn a_redeploy_without_change_uploads_nothing_and_reads_only_the_manifest() {
    both(|b| {
        let t = SiteTest::new("blog");
        deploy_ok(&t, &b, &[]);
        let before = b.is_s3().then(|| b.server().total_requests());
        // -v, and the secret must not show.
        let r = deploy(&t, &b, &["-v"], &[]);
        assert_eq!(r.status, 0, "{}", r.stderr);
        assert!(r.stdout.contains("0 uploaded") && r.stdout.contains("0 deleted"), "{}", r.stdout);
        assert!(!r.stdout.contains(SECRET_KEY) && !r.stderr.contains(SECRET_KEY));
        let s = deploy_ok(&t, &b, &[]);
        assert_eq!((s["uploaded"].as_u64(), s["deleted"].as_u64()), (Some(0), Some(0)), "{s}");
        assert!(s["requests"].as_u64().unwrap() <= 3, "{s}");
        assert_eq!(s["unchanged"], built_files(&t.path("public")).len());
        if let Some(before) = before {
            // Measured by the server: two no-change deploys (-v and --json), one GET each.
            let after = b.server().total_requests();
            assert!(after - before <= 2 * 3, "{} requests for two no-change deploys", after - before);
            assert_eq!(after - before, 2, "{:?}", b.server().requests());
        }
    });
}

#[test]
fn one_changed_page_uploads_one_object_and_the_manifest_twice() {
    both(|b| {
        let t = SiteTest::new("blog");
        deploy_ok(&t, &b, &[]);
        let before = b.is_s3().then(|| b.server().requests());
        let about = std::fs::read_to_string(t.path("content/about.md")).unwrap();
        t.write("content/about.md", &format!("{about}\nOne more sentence.\n"));
        let s = deploy_ok(&t, &b, &[]);
        if let Some(before) = before {
            let after = b.server().requests();
            let delta = |k: &str| after.get(k).unwrap_or(&0) - before.get(k).unwrap_or(&0);
            // The manifest is written twice: the claim (this deploy's lease, conditional on the
            // version read), then the new manifest.
            assert_eq!(delta("PUT"), 3, "the claim, the page and the manifest: {before:?} → {after:?}");
            assert_eq!(delta("GET"), 1, "the manifest: {before:?} → {after:?}");
            assert_eq!(after.values().sum::<u64>() - before.values().sum::<u64>(), 4, "{before:?} → {after:?}");
        }
        assert_eq!(s["uploaded"], 1, "{s}");
        assert_eq!(s["deleted"], 0);
        let objects = assert_mirrors(&t, &b, &[]);
        assert!(String::from_utf8_lossy(&objects["about/index.html"].bytes).contains("One more sentence"));
    });
}

#[test]
fn a_deleted_page_is_deleted_and_foreign_objects_stay() {
    both(|b| {
        let t = SiteTest::new("blog");
        b.put_foreign("foreign/keep.txt", b"not sopixi's");
        b.put_foreign("index.html.bak", b"an old copy");
        let s = deploy_ok(&t, &b, &[]);
        // The first deploy compares with a listing: it never deletes.
        assert_eq!(s["deleted"], 0);
        assert!(b.objects().contains_key("blog/le-troisieme/index.html"));
        t.remove("content/blog/third.md");
        // --force uploads everything again, and the manifest still decides what goes.
        let s = deploy_ok(&t, &b, &["--force"]);
        assert_eq!(s["deleted"], 1, "{s}");
        assert_eq!(s["uploaded"], built_files(&t.path("public")).len(), "{s}");
        let objects = assert_mirrors(&t, &b, &["foreign/keep.txt", "index.html.bak"]);
        assert!(!objects.contains_key("blog/le-troisieme/index.html"));
        assert_eq!(objects["foreign/keep.txt"].bytes, b"not sopixi's");
    });
}

#[test]
fn max_deletes_aborts_before_changing_anything() {
    both(|b| {
        let t = SiteTest::new("blog");
        deploy_ok(&t, &b, &[]);
        let before = b.objects();
        t.remove("content/blog/third.md").remove("content/blog/second.md");
        t.write("static/new.css", "body{color:red}");
        let r = deploy(&t, &b, &["--max-deletes", "1"], &[]);
        assert_eq!(r.status, 1, "{}", r.stdout);
        // Two pages and the listing page they filled.
        assert!(r.stderr.contains("would delete 3 objects") && r.stderr.contains("limit of 1"), "{}", r.stderr);
        assert!(r.stderr.contains("run again with --max-deletes 3"), "{}", r.stderr);
        assert_eq!(b.objects(), before, "nothing may change");
        let s = deploy_ok(&t, &b, &["--max-deletes", "3"]);
        assert_eq!(s["deleted"], 3);
        assert_mirrors(&t, &b, &[]);
    });
}

#[test]
fn wrong_credentials_are_refused_clearly() {
    let b = Backend::s3();
    let t = SiteTest::new("blog");
    let wrong = "wrong-secret-7Hq2";
    let r = deploy(&t, &b, &["-v"], &[("AWS_SECRET_ACCESS_KEY", wrong)]);
    assert_eq!(r.status, 1, "{}", r.stdout);
    assert!(r.stderr.contains("refused the credentials") && r.stderr.contains("AWS_SECRET_ACCESS_KEY"), "{}", r.stderr);
    for out in [&r.stdout, &r.stderr] {
        assert!(!out.contains(wrong) && !out.contains(SECRET_KEY), "a secret was printed:\n{out}");
    }
    let r = deploy(&t, &b, &["--json"], &[("AWS_SECRET_ACCESS_KEY", wrong)]);
    assert_eq!(r.status, 1);
    assert!(r.json()["message"].as_str().unwrap().contains("refused the credentials"));
    assert!(b.objects().is_empty());
}

/// Local references of an HTML page (root-relative, relative, or under the fixture's base URL),
/// as site paths — written independently of `sopixi::deploy`.
fn references(html: &str, page: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for attr in [" href=", " src="] {
        for piece in html.split(attr).skip(1) {
            let v = match piece.chars().next() {
                Some(q @ ('"' | '\'')) => piece[1..].split(q).next().unwrap(),
                _ => piece.split(|c: char| c.is_whitespace() || c == '>').next().unwrap(),
            };
            let v = v.split(['#', '?']).next().unwrap();
            let path = if let Some(rest) = v.strip_prefix("https://fixture.example/") {
                rest.to_string()
            } else if let Some(rest) = v.strip_prefix('/') {
                if rest.starts_with('/') {
                    continue;
                }
                rest.to_string()
            } else if v.is_empty() || v.contains(':') {
                continue;
            } else {
                format!("{}{v}", &page[..page.rfind('/').map_or(0, |i| i + 1)])
            };
            let path = if path.is_empty() || path.ends_with('/') { format!("{path}index.html") } else { path };
            out.insert(path);
        }
    }
    out
}

fn assert_no_broken_page(b: &Backend) -> usize {
    let objects = b.objects();
    let mut pages = 0;
    for (k, o) in objects.iter().filter(|(k, _)| k.ends_with(".html")) {
        pages += 1;
        for r in references(&String::from_utf8_lossy(&o.bytes), k) {
            assert!(objects.contains_key(&r), "{k} references /{r}, which the target does not hold");
        }
    }
    pages
}

#[test]
fn a_killed_deploy_leaves_no_broken_page_and_the_next_run_converges() {
    both(|b| {
        let t = SiteTest::new("blog");
        deploy_ok(&t, &b, &[]);
        // A new stylesheet every page uses, a new post every listing links to, a changed theme.
        let base = std::fs::read_to_string(t.path("themes/plain/templates/base.html")).unwrap();
        t.write(
            "themes/plain/templates/base.html",
            &base.replacen("</head>", "<link rel=stylesheet href=\"/css/v2.css\"></head>", 1),
        );
        t.write("static/css/v2.css", "body{margin:0}");
        t.write("content/blog/fourth.md", "---\ntitle: Fourth post\ndate: 2030-01-01\ntags: [rust]\n---\nNew.\n");
        t.build();
        assert!(t.read("index.html").contains("/css/v2.css"), "the fixture must reference the new file");
        let changed = {
            let s = deploy_ok(&t, &b, &["--dry-run"]);
            s["plan"]["phases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["uploads"].as_array().unwrap().len())
                .sum::<usize>()
        };
        assert!(changed > 10, "{changed}");
        for n in [1, 2, 4, changed / 2, changed - 1] {
            let r = deploy(&t, &b, &[], &[("SOPIXI_TEST_DEPLOY_EXIT_AFTER", &n.to_string())]);
            assert_eq!(r.status, 137, "the deploy should have been cut after {n} uploads: {}", r.stderr);
            let pages = assert_no_broken_page(&b);
            assert!(pages > 10);
            if n == 1 {
                // The home page comes last: it still shows the old site.
                assert!(!String::from_utf8_lossy(&b.objects()["index.html"].bytes).contains("Fourth post"));
            }
        }
        let s = deploy_ok(&t, &b, &[]);
        assert!(s["uploaded"].as_u64().unwrap() >= 1, "{s}");
        assert_mirrors(&t, &b, &[]);
        assert_no_broken_page(&b);
        let s = deploy_ok(&t, &b, &[]);
        assert_eq!(s["uploaded"], 0, "converged: {s}");
    });
}

#[test]
fn objects_a_killed_deploy_uploaded_that_no_manifest_lists_are_removed() {
    both(|b| {
        let t = SiteTest::new("blog");
        deploy_ok(&t, &b, &[]);
        // A version with new files, cut after its first uploads (the new stylesheet goes first).
        t.write("static/css/v2.css", "body{margin:0}");
        t.write("static/css/v3.css", "body{margin:1px}");
        t.write("content/blog/fourth.md", "---\ntitle: Fourth post\ndate: 2030-01-01\n---\nNew.\n");
        let r = deploy(&t, &b, &[], &[("SOPIXI_TEST_DEPLOY_EXIT_AFTER", "2")]);
        assert_eq!(r.status, 137, "{}", r.stderr);
        let stray: Vec<String> = b.objects().into_keys().filter(|k| k.starts_with("css/v")).collect();
        assert!(!stray.is_empty(), "the cut deploy uploaded none of the new files");
        // The partner goes back to the old version: nothing lists those objects any more, and the
        // next deploy (its lease is of a process that is gone) removes them.
        std::fs::remove_file(t.path("static/css/v2.css")).unwrap();
        std::fs::remove_file(t.path("static/css/v3.css")).unwrap();
        std::fs::remove_file(t.path("content/blog/fourth.md")).unwrap();
        let s = deploy_ok(&t, &b, &[]);
        assert!(s["deleted"].as_u64().unwrap() >= stray.len() as u64, "{s}");
        assert_mirrors(&t, &b, &[]);
    });
}

#[test]
fn a_missing_manifest_is_rebuilt_from_a_listing_without_reuploading() {
    let b = Backend::s3();
    let t = SiteTest::new("blog");
    deploy_ok(&t, &b, &[]);
    b.remove(".sopixi-deploy.json");
    let s = deploy_ok(&t, &b, &[]);
    assert_eq!(s["uploaded"], 0, "identical files are recognised by their MD5 ETag: {s}");
    assert_eq!(s["had_manifest"], false);
    assert_mirrors(&t, &b, &[]);
    let s = deploy_ok(&t, &b, &[]);
    assert_eq!(s["had_manifest"], true);
}

#[test]
fn gzip_uploads_compressed_text_with_its_encoding() {
    let b = Backend::s3();
    let t = SiteTest::new("blog");
    deploy_ok(&t, &b, &["--gzip"]);
    let objects = b.objects();
    let page = &objects["index.html"];
    assert_eq!(page.content_encoding.as_deref(), Some("gzip"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(page.bytes.as_slice()), &mut text).unwrap();
    assert_eq!(text, t.read("index.html"));
    assert_eq!(objects["blog/trip/photo.jpg"].content_encoding, None, "images are not compressed");
    // Same options again: nothing to do.
    assert_eq!(deploy_ok(&t, &b, &["--gzip"])["uploaded"], 0);
}

#[test]
fn the_compliance_gate_refuses_pages_without_the_platform_elements() {
    let b = Backend::folder();
    let t = SiteTest::new("blog");
    t.build();
    let public = t.path("public");
    std::fs::write(public.join("bare.html"), "<html><body><p>no badge</p></body></html>").unwrap();
    let gated = t.read("about/index.html").replace("data-sopixi-age-gate", "x");
    let adult = gated.replacen("<head>", "<head><meta name=rating content=adult>", 1);
    std::fs::write(public.join("about/index.html"), adult).unwrap();
    let out = public.to_string_lossy().into_owned();
    let r = deploy(&t, &b, &["--output", &out], &[]);
    assert_eq!(r.status, 1, "{}", r.stdout);
    assert!(r.stderr.contains("fail the platform compliance check"), "{}", r.stderr);
    assert!(r.stderr.contains("bare.html: the Sopixi badge link is missing"), "{}", r.stderr);
    assert!(r.stderr.contains("about/index.html: this adult page has no age gate"), "{}", r.stderr);
    assert!(!r.stderr.contains("blog/first/index.html"), "compliant pages are not listed");
    assert!(b.objects().is_empty(), "nothing deployed");
}

#[test]
fn the_compliance_gate_checks_changed_pages_of_a_deployed_site() {
    both(|b| {
        let t = SiteTest::new("blog");
        deploy_ok(&t, &b, &[]);
        let before = b.objects();
        let public = t.path("public");
        let hidden = t.read("about/index.html").replace("data-sopixi-badge", "data-x");
        std::fs::write(public.join("about/index.html"), hidden).unwrap();
        let out = public.to_string_lossy().into_owned();
        let r = deploy(&t, &b, &["--output", &out], &[]);
        assert_eq!(r.status, 1, "{}", r.stdout);
        assert!(r.stderr.contains("about/index.html: the Sopixi badge link is missing"), "{}", r.stderr);
        assert_eq!(b.objects(), before, "nothing deployed");
    });
}

#[test]
fn dry_run_changes_nothing_and_named_targets_come_from_site_yaml() {
    let b = Backend::folder();
    let t = SiteTest::new("blog");
    let r = deploy(&t, &b, &["--dry-run"], &[]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stdout.contains("upload  home     new      /index.html"), "{}", r.stdout);
    assert!(r.stdout.contains("nothing was changed"));
    assert!(b.objects().is_empty());
    // `--to NAME` and the first target by default.
    let yaml = std::fs::read_to_string(t.path("site.yaml")).unwrap();
    t.write("site.yaml", &format!("{yaml}deploy:\n  targets:\n    - name: mirror\n      url: \"{}\"\n", b.url()));
    let mut c = bin();
    c.arg("deploy").arg(&t.root).arg("--json");
    b.command(&mut c);
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_mirrors(&t, &b, &[]);
    let r = deploy(&t, &b, &[], &[]);
    assert_eq!(r.status, 0);
    let mut c = bin();
    c.arg("deploy").arg(&t.root).args(["--to", "mirorr"]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `mirror`?"));
}

#[test]
fn large_files_go_up_in_parts() {
    let b = Backend::s3();
    let t = SiteTest::new("blog");
    // 17 MiB, above the multipart threshold, not compressible into one part.
    let big: Vec<u8> = (0..17u32 * 1024 * 1024).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::create_dir_all(t.path("static/media")).unwrap();
    // A brochure, not a video: videos are limited to 5 MB.
    std::fs::write(t.path("static/media/brochure.pdf"), &big).unwrap();
    let before = b.server().requests();
    let s = deploy_ok(&t, &b, &[]);
    let after = b.server().requests();
    assert!(after.get("POST").unwrap_or(&0) > before.get("POST").unwrap_or(&0), "a multipart upload: {after:?}");
    let objects = assert_mirrors(&t, &b, &[]);
    assert!(objects["media/brochure.pdf"].bytes == big);
    assert_eq!(objects["media/brochure.pdf"].content_type.as_deref(), Some("application/pdf"));
    assert_eq!(objects["media/brochure.pdf"].cache_control.as_deref(), Some("public, max-age=3600"));
    assert!(s["bytes"].as_u64().unwrap() > big.len() as u64, "{s}");
    assert_eq!(deploy_ok(&t, &b, &[])["uploaded"], 0);
}
