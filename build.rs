//! Embeds the bundled themes and the example site into the binary, so that `sopixi init` and
//! `theme: default` work wherever the binary is installed. Build outputs, caches, dot-folders and
//! editor backups are skipped, and never watched: building the example site in place does not
//! make the next `cargo build` run this script again (`src/theme/embed_files.rs`, tested there).

use std::fmt::Write;
use std::path::Path;

#[path = "src/theme/embed_files.rs"]
#[allow(dead_code)]
mod embed_files;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let mut code = String::new();
    for (name, dir) in [("THEMES", "themes"), ("EXAMPLE_SITE", "example-site")] {
        let root = Path::new(&manifest).join(dir);
        // Sites are built in place (the example site, a theme's `demo/`): a folder holding one is
        // never watched whole, nor is the root (see `watch_list`).
        let watched = embed_files::watch_list(&root);
        for w in watched {
            println!("cargo:rerun-if-changed={}", w.display());
        }
        writeln!(code, "/// Files of `{dir}/`: (relative path, bytes).").unwrap();
        writeln!(code, "pub static {name}: &[(&str, &[u8])] = &[").unwrap();
        for (rel, abs) in embed_files::files(&root, &root) {
            let abs = abs.canonicalize().unwrap().to_string_lossy().to_string();
            writeln!(code, "    ({rel:?}, include_bytes!({abs:?})),").unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    println!("cargo:rerun-if-changed=src/theme/embed_files.rs");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(out, code).unwrap();
}
