//! The structure holds (rust-analyzer's "tidy" idea): every module of `src/` opens with a `//!`
//! paragraph, `ARCHITECTURE.md` names every module (each `src/cmd/*.rs` included), the
//! dependency table is a layering of top-level folders with no exception rows, no module uses
//! one that the table does not allow it (grouped `use crate::{a, b}` and `super::` paths
//! included), and no function is longer than [`MAX_FN_LINES`] lines.

use std::collections::BTreeSet;
use std::path::PathBuf;

/// The longest a function of `src/` may be, in lines, from `fn` to its closing brace.
const MAX_FN_LINES: usize = 150;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn architecture() -> String {
    std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap()
}

/// Every `.rs` file under `src/`, with its module path (`build::stages`). The binary's files are
/// under `cmd`: `main.rs` and `cmd/mod.rs` are `cmd`, `console.rs` is `cmd::console` and
/// `cmd/NAME.rs` is `cmd::NAME`.
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
        let module = match rel {
            "main" | "cmd/mod" => "cmd".to_string(),
            "console" => "cmd::console".to_string(),
            "lib" => "crate".to_string(),
            _ => rel.trim_end_matches("/mod").replace('/', "::"),
        };
        out.push((p.to_path_buf(), module));
    }
    out
}

/// The dependency table of ARCHITECTURE.md, in its order: module → the modules it may use.
fn table(arch: &str) -> Vec<(String, BTreeSet<String>)> {
    let start = arch.find("## Dependency table").expect("ARCHITECTURE.md has a `## Dependency table` section");
    let section = &arch[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut rows = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let names: BTreeSet<String> = cells[2]
            .split(',')
            .map(|c| c.trim().trim_matches('`').to_string())
            .filter(|c| !c.is_empty() && c != "—")
            .collect();
        rows.push((cells[1].trim_matches('`').to_string(), names));
    }
    assert!(rows.len() >= 10, "the dependency table lists the modules: {rows:?}");
    rows
}

/// The table row a module path falls under: the row that is its top-level folder.
fn row_of<'a>(module: &str, rows: &'a [(String, BTreeSet<String>)]) -> Option<&'a str> {
    let top = module.split("::").next().unwrap_or(module);
    rows.iter().map(|(r, _)| r.as_str()).find(|r| *r == top)
}

/// The code outside unit tests (`#[cfg(test)] mod tests` closes each file that has one).
fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests").map_or(text, |i| &text[..i])
}

/// Comments and the contents of string and character literals blanked out (same length, line
/// breaks kept), so that neither a path in a doc comment nor a brace in a string counts.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                blank(&mut out, i, end);
                i = end;
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let body = i + 2 + hashes;
                let end = text[body..].find(&close).map_or(b.len(), |n| body + n);
                blank(&mut out, body, end);
                i = end + close.len();
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1, j.min(b.len()));
                i = j + 1;
            }
            b'\'' => {
                // A character literal ('x', '\n', '\u{7f}'), not a lifetime ('a).
                let end = if b.get(i + 1) == Some(&b'\\') {
                    text[i + 2..].find('\'').map(|n| i + 2 + n)
                } else {
                    text[i + 1..].chars().next().map(|c| i + 1 + c.len_utf8()).filter(|&e| b.get(e) == Some(&b'\''))
                };
                match end {
                    Some(e) => {
                        blank(&mut out, i + 1, e);
                        i = e + 1;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths of a use tree that starts at `rest` (after `prefix::`): `a::b`, `a::{b, c::d}`,
/// `{a, b::{c, self}}`. Each path is `prefix` joined to the names down to a leaf.
fn tree(prefix: &str, rest: &str, out: &mut BTreeSet<String>) {
    let rest = rest.trim_start();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    tree(prefix, &inner[start..i], out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    tree(prefix, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
    if name.is_empty() || name == "self" || name.starts_with(|c: char| c.is_ascii_uppercase()) {
        if !prefix.is_empty() {
            out.insert(prefix.to_string());
        }
        return;
    }
    let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}::{name}") };
    match rest[name.len()..].trim_start().strip_prefix("::") {
        Some(more) => tree(&path, more, out),
        None => {
            out.insert(path);
        }
    }
}

/// The module paths a file names: `crate::a::b`, `sopixi::a::b`, grouped `crate::{a, b::c}`, and
/// `super::…` resolved against `module` (the file's own module path; `mod.rs` files are their
/// folder's module).
fn used(module: &str, text: &str) -> BTreeSet<String> {
    let code = code_only(text);
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("::") {
        let head_start = code[..i].rfind(|c: char| !is_ident(c)).map_or(0, |s| s + 1);
        if code[..head_start].ends_with("::") {
            continue; // inside a longer path, read from its start
        }
        let head = &code[head_start..i];
        let base: Option<String> = match head {
            "crate" | "sopixi" => Some(String::new()),
            "super" => {
                // super::super::x: climb once per `super`.
                let mut parts: Vec<&str> = module.split("::").collect();
                let mut rest = &code[i + 2..];
                parts.pop();
                while let Some(r) = rest.strip_prefix("super::") {
                    parts.pop();
                    rest = r;
                }
                let mut found = BTreeSet::new();
                tree(&parts.join("::"), rest, &mut found);
                out.extend(found.into_iter().filter(|p| !p.is_empty()));
                None
            }
            _ => None,
        };
        if let Some(base) = base {
            tree(&base, &code[i + 2..], &mut out);
        }
    }
    out.retain(|p| p.starts_with(|c: char| c.is_ascii_lowercase()));
    out
}

/// The functions of a text longer than `max` lines: (name, first line, lines).
fn long_functions(text: &str, max: usize) -> Vec<(String, usize, usize)> {
    let code = code_only(text);
    let b = code.as_bytes();
    let line_at = |pos: usize| code[..pos].matches('\n').count() + 1;
    let mut out = Vec::new();
    for (i, _) in code.match_indices("fn ") {
        if i > 0 && is_ident(b[i - 1] as char) {
            continue;
        }
        let name: String = code[i + 3..].chars().take_while(|c| is_ident(*c)).collect();
        if name.is_empty() {
            continue;
        }
        // The body: the first `{` at bracket depth 0 after the name, unless a `;` ends a
        // declaration first (a trait's method without a body).
        let mut depth = 0i32;
        let mut open = None;
        for (j, c) in code[i..].char_indices() {
            match c {
                '(' | '[' | '<' => depth += 1,
                ')' | ']' | '>' if depth > 0 => depth -= 1,
                ';' if depth == 0 => break,
                '{' if depth == 0 => {
                    open = Some(i + j);
                    break;
                }
                _ => {}
            }
        }
        let Some(open) = open else { continue };
        let mut braces = 0;
        let mut close = None;
        for (j, c) in code[open..].char_indices() {
            match c {
                '{' => braces += 1,
                '}' => {
                    braces -= 1;
                    if braces == 0 {
                        close = Some(open + j);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else { continue };
        let lines = line_at(close) - line_at(i) + 1;
        if lines > max {
            out.push((name, line_at(i), lines));
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
    let arch = architecture();
    let missing: Vec<String> = modules()
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| m != "crate")
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|m| !arch.contains(&format!("`{m}`")))
        .collect();
    assert!(missing.is_empty(), "ARCHITECTURE.md's code map lacks these modules: {missing:?}");
    for (file, m) in modules() {
        if file.parent().is_some_and(|p| p.ends_with("cmd")) && m != "cmd" {
            assert!(m.starts_with("cmd::"), "{}: a command's module is `cmd::NAME`, not `{m}`", file.display());
        }
    }
}

#[test]
fn the_dependency_table_is_a_layering_of_top_level_folders() {
    let rows = table(&architecture());
    let folders: BTreeSet<String> = modules()
        .into_iter()
        .map(|(_, m)| m.split("::").next().unwrap().to_string())
        .filter(|m| m != "crate")
        .collect();
    let names: Vec<&str> = rows.iter().map(|(r, _)| r.as_str()).collect();
    let listed: BTreeSet<String> = names.iter().map(|s| s.to_string()).collect();
    assert_eq!(listed, folders, "one row per top-level module of src/, no more (no exception rows), no less");
    for (i, (row, allowed)) in rows.iter().enumerate() {
        for a in allowed.iter().filter(|a| *a != "everything") {
            assert!(
                names[..i].contains(&a.as_str()),
                "`{row}` may use `{a}`, which is not a row above it: the table must be a layering"
            );
        }
    }
}

#[test]
fn no_module_uses_one_the_dependency_table_forbids() {
    let rows = table(&architecture());
    let mut broken = Vec::new();
    for (file, module) in modules() {
        if module == "crate" {
            continue;
        }
        let Some(row) = row_of(&module, &rows) else {
            broken.push(format!("{}: module `{module}` has no row in the dependency table", file.display()));
            continue;
        };
        let allowed = &rows.iter().find(|(r, _)| r == row).unwrap().1;
        let text = std::fs::read_to_string(&file).unwrap();
        for path in used(&module, without_tests(&text)) {
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
fn no_function_is_longer_than_the_limit() {
    let mut long = Vec::new();
    for (file, _) in modules() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (name, line, lines) in long_functions(&text, MAX_FN_LINES) {
            long.push(format!("{}:{line}: `{name}` is {lines} lines", file.display()));
        }
    }
    assert!(long.is_empty(), "functions over {MAX_FN_LINES} lines (split them by job):\n{}", long.join("\n"));
}

#[test]
fn the_checker_catches_a_forbidden_import() {
    // The checks themselves can fail: a `site` file naming `crate::build` breaks the table,
    // written plainly, grouped, or nested in a group.
    let rows = table(&architecture());
    let row = row_of("site::content", &rows).unwrap();
    let site_row = &rows.iter().find(|(r, _)| r == row).unwrap().1;
    let uses = used("site::content", "use crate::build::stages::load;\nfn f() { crate::util::text::slugify(\"x\"); }");
    assert_eq!(uses, BTreeSet::from(["build::stages::load".to_string(), "util::text::slugify".to_string()]));
    let grouped =
        used("site::content", "use crate::{\n    build::{stages, Engine},\n    util::text::{self, slugify},\n};");
    assert_eq!(
        grouped,
        BTreeSet::from(["build", "build::stages", "util::text", "util::text::slugify"].map(String::from)),
        "grouped imports are read"
    );
    assert_eq!(used("site::content", "use crate::{build, util};"), BTreeSet::from(["build".into(), "util".into()]));
    assert_eq!(used("site::content", "use super::super::build::X;"), BTreeSet::from(["build".to_string()]));
    assert_eq!(used("site::content", "use super::config::X;"), BTreeSet::from(["site::config".to_string()]));
    assert!(used("site", "// crate::build::x in a comment\nlet s = \"crate::build\";").is_empty());
    let target = row_of("build::stages::load", &rows).unwrap();
    assert_eq!(target, "build");
    assert!(!site_row.contains(target), "site may not use build");
    assert!(site_row.contains(row_of("util::text", &rows).unwrap()));
    // A function of 151 lines is found, one of 150 is not; braces in strings and comments and
    // a trait method without a body do not count.
    let body = |n: usize| format!("fn f{n}() {{\n{}}}\n", "    let s = \"{\"; // }\n".repeat(n - 2));
    let text = format!("trait T {{ fn g(&self); }}\n{}{}", body(150), body(151));
    assert_eq!(long_functions(&text, MAX_FN_LINES), [("f151".to_string(), 152, 151)]);
}
