//! The structure holds (rust-analyzer's "tidy" idea): every module of `src/` opens with a `//!`
//! paragraph, `ARCHITECTURE.md` names every module, and no module uses one that the dependency
//! table of `ARCHITECTURE.md` does not allow it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `src/`, with its module path (`build::stages`; the binary's files —
/// `main.rs`, `console.rs`, `cmd/` — are the module `cmd`).
fn modules() -> Vec<(PathBuf, String)> {
    let src = root().join("src");
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(&src).sort_by_file_name() {
        let e = e.unwrap();
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) != Some("rs") {
            continue;
        }
        let rel = p.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        let rel = rel.trim_end_matches(".rs");
        let module = if rel == "main" || rel == "console" || rel == "cmd" || rel.starts_with("cmd/") {
            "cmd".to_string()
        } else if rel == "lib" {
            "crate".to_string()
        } else {
            rel.trim_end_matches("/mod").replace('/', "::")
        };
        out.push((p.to_path_buf(), module));
    }
    out
}

/// The dependency table of ARCHITECTURE.md: module → the modules it may use.
fn table(arch: &str) -> BTreeMap<String, BTreeSet<String>> {
    let start = arch.find("## Dependency table").expect("ARCHITECTURE.md has a `## Dependency table` section");
    let section = &arch[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let names = |cell: &str| -> BTreeSet<String> {
            cell.split(',')
                .map(|c| c.trim().trim_matches('`').to_string())
                .filter(|c| !c.is_empty() && c != "—")
                .collect()
        };
        let module = cells[1].trim_matches('`').to_string();
        rows.insert(module, names(cells[2]));
    }
    assert!(rows.len() >= 10, "the dependency table lists the modules: {rows:?}");
    rows
}

/// The table row a module path falls under: the longest row that is it or contains it.
fn row_of<'a>(module: &str, rows: &'a BTreeMap<String, BTreeSet<String>>) -> Option<&'a str> {
    rows.keys()
        .filter(|r| module == r.as_str() || module.starts_with(&format!("{r}::")))
        .max_by_key(|r| r.len())
        .map(String::as_str)
}

/// The code outside unit tests (`#[cfg(test)] mod tests` closes each file that has one).
fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests").map_or(text, |i| &text[..i])
}

/// The module paths a file names: `crate::a::b` and `sopixi::a::b`.
fn used(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for prefix in ["crate::", "sopixi::"] {
        let mut rest = text;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().next_back();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let path: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == ':').collect();
            let path = path.trim_end_matches(':');
            if !path.is_empty() {
                out.insert(path.to_string());
            }
        }
    }
    out
}

#[test]
fn every_module_opens_with_a_doc_paragraph() {
    for (file, _) in modules() {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} must open with a `//!` paragraph: what comes in, what goes out, what it must never do",
            file.display()
        );
    }
}

#[test]
fn architecture_md_names_every_module() {
    let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let missing: Vec<String> = modules()
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| m != "crate")
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|m| !arch.contains(&format!("`{m}`")))
        .collect();
    assert!(missing.is_empty(), "ARCHITECTURE.md's code map lacks these modules: {missing:?}");
}

#[test]
fn no_module_uses_one_the_dependency_table_forbids() {
    let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let rows = table(&arch);
    let mut broken = Vec::new();
    for (file, module) in modules() {
        if module == "crate" {
            continue;
        }
        let Some(row) = row_of(&module, &rows) else {
            broken.push(format!("{}: module `{module}` has no row in the dependency table", file.display()));
            continue;
        };
        let allowed = &rows[row];
        let text = std::fs::read_to_string(&file).unwrap();
        for path in used(without_tests(&text)) {
            let Some(target) = row_of(&path, &rows) else { continue };
            if target != row && !allowed.contains(target) && !allowed.contains("everything") {
                broken
                    .push(format!("{}: `{module}` uses `{path}`, but `{row}` may not use `{target}`", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "dependency table broken:\n{}", broken.join("\n"));
}

#[test]
fn the_checker_catches_a_forbidden_import() {
    // The check itself can fail: a `site` file naming `crate::build` breaks the table.
    let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let rows = table(&arch);
    let row = row_of("site::content", &rows).unwrap();
    let uses = used("use crate::build::stages::load;\nfn f() { crate::util::text::slugify(\"x\"); }");
    assert_eq!(uses, BTreeSet::from(["build::stages::load".to_string(), "util::text::slugify".to_string()]));
    let target = row_of("build::stages::load", &rows).unwrap();
    assert_eq!(target, "build");
    assert!(!rows[row].contains(target), "site may not use build");
    assert!(rows[row].contains(row_of("util::text", &rows).unwrap()));
    assert!(Path::new(&root().join("src/lib.rs")).is_file());
}
