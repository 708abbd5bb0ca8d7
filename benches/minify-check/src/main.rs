//! Differential check of `vendor/minify-html-onepass` (Sopixi's patched copy) against upstream
//! minify-html-onepass 0.18.1: both minify every .html/.xml file under the folders given, then
//! 300,000 generated snippets (text, whitespace, entities, stray `<`, tags, quoted and unquoted
//! attributes, pre/textarea, comments, script, style). Any difference in output (or in error) is
//! printed; the exit status is 1 if there was one.
//!
//!     cargo run --release -- FOLDER...          # check (build sites with --no-minify first)
//!     BENCH_DIR=FOLDER cargo run --release      # time the patched copy alone on FOLDER's pages
use std::time::Instant;
fn run(input: &[u8], bad: &mut usize, label: &str) -> (std::time::Duration, std::time::Duration) {
    let c1 = up::Cfg { minify_css: true, minify_js: true };
    let c2 = patched::Cfg { minify_css: true, minify_js: true, valid_html: false };
    let t = Instant::now();
    let a = up::copy(input, &c1).map_err(|e| format!("{e:?}"));
    let ta = t.elapsed();
    let t = Instant::now();
    let b = patched::copy(input, &c2).map_err(|e| format!("{e:?}"));
    let tb = t.elapsed();
    if a != b {
        *bad += 1;
        if *bad < 5 {
            eprintln!("MISMATCH {label}:\n in : {:?}\n up : {:?}\n new: {:?}", String::from_utf8_lossy(&input[..input.len().min(300)]),
                a.as_ref().map(|v| String::from_utf8_lossy(&v[..v.len().min(300)]).to_string()),
                b.as_ref().map(|v| String::from_utf8_lossy(&v[..v.len().min(300)]).to_string()));
        }
    }
    (ta, tb)
}
fn main() {
    if let Ok(dir) = std::env::var("BENCH_DIR") {
        let files: Vec<Vec<u8>> = walkdir::WalkDir::new(&dir).into_iter().filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "html")).map(|e| std::fs::read(e.path()).unwrap()).collect();
        let c2 = patched::Cfg { minify_css: true, minify_js: true, valid_html: false };
        let t = Instant::now();
        let mut total = 0;
        for _ in 0..std::env::var("ITERS").map_or(20, |s| s.parse().unwrap()) { for f in &files { total += patched::copy(f, &c2).unwrap().len(); } }
        println!("{:?} {}", t.elapsed() / 20, total);
        return;
    }
    let mut bad = 0;
    let mut n = 0;
    let (mut tu, mut tp) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for dir in std::env::args().skip(1) {
        for e in walkdir::WalkDir::new(&dir).into_iter().filter_map(Result::ok) {
            if e.path().extension().is_some_and(|x| x == "html" || x == "xml") {
                let bytes = std::fs::read(e.path()).unwrap();
                let (a, b) = run(&bytes, &mut bad, &e.path().display().to_string());
                tu += a; tp += b; n += 1;
            }
        }
    }
    // Generated snippets: random sequences of fragments that stress text, whitespace, entities,
    // tags, attributes, `<` as text, pre/textarea, comments.
    let frags: &[&str] = &["a", "word", " ", "  ", "\n", "\t", " \n ", "&amp;", "&", "&lt;", "&#60;", "&gt", "<", "< ", "<3", "<p>", "</p>",
        "<li>", "</li>", "<ul>", "</ul>", "<pre>", "</pre>", "<textarea>", "</textarea>", "<b>", "</b>", "<!-- c -->",
        "<a href=\"x y\">", "<a href='q\"'>", "<a title=\" a  b \">", "</a>", "<img src=x alt=\"&quot;\">", "<br>", "é", "\u{a0}",
        ";", "1", "<div class=\"k\">", "</div>", "<span>", "</span>", "<code>", "</code>", "<table>", "<tr>", "<td>", "</td>", "</tr>", "</table>",
        "<input value=\"a&amp;b c\">", "<p title=a&quot;b>", "=", "'", "\"", ">", "<html>", "<head>", "<body>", "</body>", "<script>x = 1 < 2;</script>", "<style> p { a: b } </style>"];
    let mut seed: u64 = 0x9E3779B97F4A7C15;
    let mut next = || { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; seed };
    for i in 0..300_000 {
        let len = (next() % 40) as usize;
        let mut s = String::new();
        for _ in 0..len { s.push_str(frags[(next() % frags.len() as u64) as usize]); }
        run(s.as_bytes(), &mut bad, &format!("gen {i}"));
        n += 1;
    }
    println!("{n} inputs, {bad} mismatches; files: upstream {:?}, patched {:?}", tu, tp);
    std::process::exit(if bad > 0 { 1 } else { 0 });
}
