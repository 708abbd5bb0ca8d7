//! A small chainable harness over fixture sites and the real `sopixi` binary (after mdBook's
//! `BookTest`): copy a fixture into a temporary folder, change files, run commands, assert.

#![allow(dead_code)]

pub mod browser;
pub mod s3;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fixture site copied into a temporary folder.
pub struct SiteTest {
    _dir: tempfile::TempDir,
    /// The site folder.
    pub root: PathBuf,
}

/// The result of one command.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Copies a folder, without what a build leaves in a site folder (its output, image cache and
/// staging folders): a fixture built by hand once must not start every test with a warm cache.
pub fn copy_dir(from: &Path, to: &Path) {
    let built = |e: &walkdir::DirEntry| {
        let name = e.file_name().to_string_lossy();
        e.depth() == 1 && (name == "public" || name == ".sopixi-cache" || name.contains(".sopixi-staging-"))
    };
    for entry in walkdir::WalkDir::new(from).into_iter().filter_entry(|e| !built(e)) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sopixi"));
    c.env("NO_COLOR", "1");
    c
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

impl SiteTest {
    /// Copies `tests/fixtures/NAME` into a fresh temporary folder.
    pub fn new(name: &str) -> SiteTest {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(name);
        copy_dir(&fixtures().join(name), &root);
        SiteTest { _dir: dir, root }
    }

    /// Copies any folder (e.g. the example site).
    pub fn from_dir(src: &Path) -> SiteTest {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("site");
        copy_dir(src, &root);
        SiteTest { _dir: dir, root }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    pub fn remove(&self, rel: &str) -> &Self {
        std::fs::remove_file(self.path(rel)).unwrap();
        self
    }

    /// Runs `sopixi ARGS` in the site's parent folder.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Runs `sopixi ARGS` in the site's parent folder with environment variables `env` set.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out: Output =
            bin().args(args).envs(env.iter().copied()).current_dir(self.root.parent().unwrap()).output().unwrap();
        Run {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `sopixi build SITE EXTRA…`, asserting success.
    pub fn build_with(&self, extra: &[&str]) -> Run {
        let root = self.root.to_string_lossy().into_owned();
        let mut args = vec!["build", root.as_str()];
        args.extend_from_slice(extra);
        let r = self.run(&args);
        assert_eq!(r.status, 0, "build failed:\nstdout: {}\nstderr: {}", r.stdout, r.stderr);
        r
    }

    pub fn build(&self) -> &Self {
        self.build_with(&[]);
        self
    }

    /// `sopixi build SITE`, asserting failure.
    pub fn build_fails(&self) -> Run {
        let root = self.root.to_string_lossy().into_owned();
        let r = self.run(&["build", root.as_str()]);
        assert_eq!(r.status, 1, "build should have failed:\nstdout: {}\nstderr: {}", r.stdout, r.stderr);
        r
    }

    /// The text of an output file under `public/`.
    pub fn read(&self, rel: &str) -> String {
        let p = self.path("public").join(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
    }

    /// The text of a site file (not an output one).
    pub fn read_source(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path("public").join(rel).exists()
    }

    /// Asserts that output file `rel` contains every one of `needles`.
    pub fn assert_file(&self, rel: &str, needles: &[&str]) -> &Self {
        let text = self.read(rel);
        for n in needles {
            assert!(text.contains(n), "{rel} should contain {n:?}; it is:\n{text}");
        }
        self
    }

    /// Asserts that output file `rel` contains none of `needles`.
    pub fn assert_file_lacks(&self, rel: &str, needles: &[&str]) -> &Self {
        let text = self.read(rel);
        for n in needles {
            assert!(!text.contains(n), "{rel} should not contain {n:?}; it is:\n{text}");
        }
        self
    }
}

/// Every file under `dir` with its bytes, sorted by path.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}

/// The text of `bytes`, unzipped first when they are gzipped (the search index's files).
pub fn ungz(bytes: &[u8]) -> String {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).unwrap();
        String::from_utf8_lossy(&out).into_owned()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}
