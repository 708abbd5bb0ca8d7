//! Embeds the bundled themes and the example site into the binary, so that `sopixi init` and
//! `theme: default` work wherever the binary is installed. Build output folders are skipped.

use std::fmt::Write;
use std::path::Path;

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(r) => r.filter_map(Result::ok).collect(),
        Err(_) => return,
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || name == "public" || name.ends_with('~') {
            continue;
        }
        let path = e.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            out.push((rel, path.canonicalize().unwrap().to_string_lossy().to_string()));
        }
    }
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let mut code = String::new();
    for (name, dir) in [("THEMES", "themes"), ("EXAMPLE_SITE", "example-site")] {
        let root = Path::new(&manifest).join(dir);
        println!("cargo:rerun-if-changed={}", root.display());
        let mut files = Vec::new();
        collect(&root, &root, &mut files);
        writeln!(code, "/// Files of `{dir}/`: (relative path, bytes).").unwrap();
        writeln!(code, "pub static {name}: &[(&str, &[u8])] = &[").unwrap();
        for (rel, abs) in files {
            writeln!(code, "    ({rel:?}, include_bytes!({abs:?})),").unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(out, code).unwrap();
}
