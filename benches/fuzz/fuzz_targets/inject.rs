//! The template-markup injection path: arbitrary bytes as the end of a template, just before
//! `</body>`, through the fast path (minified page, scanned tag by tag) and the injector (the
//! streaming rewriter, then the HTML5 tree builder's placement and the closing of elements that
//! hide the block). A page either path would publish must have every platform element where a
//! browser's tree builder puts it in `<body>`: anything else panics, as does any crash.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sopixi::policy::compliance::{self, Injector};
use sopixi::policy::tree::{placement, Placement};
use sopixi::policy::Policy;

fn injector() -> &'static (Injector, Vec<u8>) {
    static I: OnceLock<(Injector, Vec<u8>)> = OnceLock::new();
    I.get_or_init(|| {
        let injector = Injector::new(&Policy::default(), "fr", "fr");
        let block = sopixi::render::minify::html(injector.block().as_bytes()).unwrap();
        (injector, block)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(ending) = std::str::from_utf8(data) else { return };
    let (injector, block) = injector();
    let page = format!("<!doctype html><html><head><title>t</title></head><body><p>x</p>{ending}</body></html>");
    if let Ok(min) = sopixi::render::minify::html(page.as_bytes()) {
        if let Some(out) = compliance::append_if_certain(min, block) {
            let out = String::from_utf8_lossy(&out);
            assert_eq!(placement(&out, false), Placement::Sound, "fast path: {ending:?}");
        }
    }
    let adult = data.len() % 3 == 0;
    if let Ok(done) = injector.inject(&page, adult) {
        // (Pages with platform markup of their own are judged in full by the build.)
        if done.lost.is_none() && done.verdict_given() {
            assert_eq!(placement(&done.html, adult), Placement::Sound, "injected: {ending:?}");
        }
    }
});
