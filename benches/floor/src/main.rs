//! floor CONTENT_DIR OUT_DIR: Markdown → HTML, one file per page, with rayon. Nothing else.
use rayon::prelude::*;
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (src, out) = (PathBuf::from(&args[1]), PathBuf::from(&args[2]));
    let files: Vec<PathBuf> = walkdir::WalkDir::new(&src)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .map(|e| e.into_path())
        .collect();
    files.par_iter().for_each(|f| {
        let text = std::fs::read_to_string(f).unwrap();
        let mut html = String::with_capacity(text.len() * 2);
        pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(&text, pulldown_cmark::Options::all()));
        let rel = f.strip_prefix(&src).unwrap().with_extension("");
        let dir = out.join(rel);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), html).unwrap();
    });
}
