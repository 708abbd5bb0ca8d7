//! `sopixi deploy --releases`, `--preview` and `sopixi releases` against a real S3 server
//! (SeaweedFS, started by each test) and a `file://` folder: immutable releases sharing what did
//! not change (server-side copies), an atomic switch, rollback and promotion without upload,
//! retention, and a killed publish that leaves the live release as it was.

use serde_json::Value;

use crate::support::s3::{built_files, Backend};
use crate::support::{Run, SiteTest};

fn sopixi(b: &Backend, args: &[&str], env: &[(&str, &str)]) -> Run {
    b.run(args, env)
}

fn ok(b: &Backend, args: &[&str]) -> Value {
    let r = sopixi(b, args, &[]);
    assert_eq!(r.status, 0, "{args:?} failed:\nstdout: {}\nstderr: {}", r.stdout, r.stderr);
    r.json()
}

fn publish(t: &SiteTest, b: &Backend, extra: &[&str]) -> Value {
    let root = t.root.to_string_lossy().into_owned();
    let url = b.url();
    let mut args = vec!["deploy", root.as_str(), "--to", url.as_str(), "--json"];
    args.extend_from_slice(extra);
    ok(b, &args)
}

fn releases(b: &Backend, action: &[&str]) -> Value {
    let url = b.url();
    let mut args = vec!["releases"];
    args.extend_from_slice(action);
    args.extend_from_slice(&["--to", url.as_str(), "--json"]);
    ok(b, &args)
}

/// The state object and the files of release `id`, by site path.
fn release_files(b: &Backend, id: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let prefix = format!("_releases/{id}/");
    b.objects()
        .into_iter()
        .filter_map(|(k, o)| k.strip_prefix(&prefix).map(|p| (p.to_string(), o.bytes)))
        .filter(|(k, _)| k != ".sopixi-deploy.json")
        .collect()
}

fn live(b: &Backend) -> String {
    let state: Value = serde_json::from_slice(&b.objects()["_releases.json"].bytes).unwrap();
    state["live"].as_str().unwrap().to_string()
}

fn each_backend(f: impl Fn(Backend)) {
    f(Backend::folder());
    f(Backend::s3());
}

#[test]
fn releases_share_what_did_not_change_and_switch_rollback_and_promote_without_upload() {
    each_backend(|b| {
        let t = SiteTest::new("blog");
        let first = publish(&t, &b, &["--releases"]);
        let r1 = first["release"]["id"].as_str().unwrap().to_string();
        assert_eq!((first["live"].as_bool(), first["copied"].as_u64()), (Some(true), Some(0)), "{first}");
        assert_eq!(live(&b), r1);
        let built = built_files(&t.path("public"));
        assert_eq!(release_files(&b, &r1), built, "the release holds the site, byte for byte");
        assert!(!b.objects().contains_key("index.html"), "nothing in place: releases only");

        // A one-page edit: everything else is copied server-side, about one page uploaded.
        t.write("content/about.md", &format!("{}\nOne more line.\n", t.read_source("content/about.md")));
        let second = publish(&t, &b, &["--releases"]);
        let r2 = second["release"]["id"].as_str().unwrap().to_string();
        assert_ne!(r1, r2);
        assert!(second["copied"].as_u64().unwrap() as usize >= built.len(), "{second}");
        let uploaded = second["uploaded"].as_u64().unwrap();
        assert!((1..=4).contains(&uploaded), "one page and what lists it: {second}");
        assert_eq!(second["previous"], r1.as_str());
        assert_eq!(live(&b), r2);
        assert_eq!(release_files(&b, &r2), built_files(&t.path("public")));
        assert_eq!(release_files(&b, &r1), built, "the old release is untouched");

        // Rollback (to the one before the live one) and back, by id: the state only.
        let before = b.objects();
        let rb = releases(&b, &["rollback"]);
        assert_eq!((rb["live"].as_str(), rb["previous"].as_str()), (Some(r1.as_str()), Some(r2.as_str())), "{rb}");
        assert_eq!(live(&b), r1);
        let after = b.objects();
        let changed: Vec<&String> =
            after.keys().filter(|k| before.get(*k).map(|o| &o.bytes) != Some(&after[*k].bytes)).collect();
        assert_eq!(changed, vec!["_releases.json"], "a rollback writes the state only");
        releases(&b, &["rollback", &r2]);
        assert_eq!(live(&b), r2);

        // A preview does not go live; promoting it does.
        t.write("content/about.md", "---\ntitle: About\n---\nA preview of the new text.\n");
        let p = publish(&t, &b, &["--preview", "pr-7"]);
        let r3 = p["release"]["id"].as_str().unwrap().to_string();
        assert_eq!((p["live"].as_bool(), p["release"]["preview"].as_str()), (Some(false), Some("pr-7")), "{p}");
        assert!(p["release"]["expires"].as_u64().is_some());
        assert_eq!(live(&b), r2, "a preview is not live");
        let list = releases(&b, &["list"]);
        let ids: Vec<&str> = list["releases"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [r1.as_str(), r2.as_str(), r3.as_str()], "{list}");
        releases(&b, &["promote", &r3]);
        assert_eq!(live(&b), r3);
        let bad = sopixi(&b, &["releases", "rollback", "r-none", "--to", &b.url()], &[]);
        assert_eq!(bad.status, 1);
        assert!(bad.stderr.contains("no release r-none is kept"), "{}", bad.stderr);
    });
}

#[test]
fn a_killed_release_publish_leaves_the_live_release_and_prune_keeps_what_the_policy_says() {
    let b = Backend::s3();
    let t = SiteTest::new("blog");
    let r1 = publish(&t, &b, &["--releases"])["release"]["id"].as_str().unwrap().to_string();
    t.write("content/about.md", "---\ntitle: About\n---\nChanged.\n");
    let root = t.root.to_string_lossy().into_owned();
    let url = b.url();
    let killed = sopixi(&b, &["deploy", &root, "--to", &url, "--releases"], &[("SOPIXI_TEST_DEPLOY_EXIT_AFTER", "1")]);
    assert_eq!(killed.status, 137, "{}", killed.stderr);
    assert_eq!(live(&b), r1, "a killed publish leaves the live release");
    let list = releases(&b, &["list"]);
    assert_eq!(list["releases"].as_array().unwrap().len(), 1, "{list}");
    // The unfinished release's objects go at the next prune.
    let unfinished = |b: &Backend| {
        b.objects()
            .keys()
            .filter(|k| k.starts_with("_releases/") && !k.starts_with(&format!("_releases/{r1}/")))
            .count()
    };
    assert!(unfinished(&b) > 0);
    let pruned = releases(&b, &["prune"]);
    assert_eq!(pruned["deleted"].as_array().unwrap().len(), 1, "{pruned}");
    assert_eq!(unfinished(&b), 0);

    // `releases.keep: 2`: after more publishes only the two newest stay, objects and all.
    let policy = t.path("policy.yaml");
    std::fs::write(&policy, "releases:\n  keep: 2\n").unwrap();
    let policy = policy.to_string_lossy().into_owned();
    let mut ids = vec![r1];
    for n in 0..2 {
        t.write("content/about.md", &format!("---\ntitle: About\n---\nVersion {n}.\n"));
        let p = publish(&t, &b, &["--releases", "--policy", &policy]);
        ids.push(p["release"]["id"].as_str().unwrap().to_string());
    }
    let list = releases(&b, &["list"]);
    let kept: Vec<&str> = list["releases"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(kept, [ids[1].as_str(), ids[2].as_str()], "{list}");
    assert!(
        !b.objects().keys().any(|k| k.starts_with(&format!("_releases/{}/", ids[0]))),
        "the oldest's objects are gone"
    );
}

#[test]
fn moving_a_target_from_in_place_to_releases_removes_the_files_left_in_place() {
    each_backend(|b| {
        let t = SiteTest::new("blog");
        publish(&t, &b, &[]);
        assert!(b.objects().contains_key("index.html") && b.objects().contains_key(".sopixi-deploy.json"));
        let first = publish(&t, &b, &["--releases"]);
        assert_eq!(first["pruned"], serde_json::json!(["in-place"]), "{first}");
        let left: Vec<String> =
            b.objects().into_keys().filter(|k| !k.starts_with("_releases/") && k != "_releases.json").collect();
        assert!(left.is_empty(), "files of the deploy in place left: {left:?}");
        // A bad preview name is refused before anything is sent.
        let root = t.root.to_string_lossy().into_owned();
        let bad = sopixi(&b, &["deploy", &root, "--to", &b.url(), "--preview", "Feature/X"], &[]);
        assert_ne!(bad.status, 0);
        assert!(bad.stderr.contains("lowercase letters, digits and single hyphens"), "{}", bad.stderr);
    });
}
