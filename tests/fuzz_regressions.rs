//! Every input the fuzz targets (`benches/fuzz`) found a crash with, kept in
//! `tests/fixtures/fuzz/`, goes through both targets' steps without a panic: as a content file
//! (front matter, Markdown, shortcodes) and as a finished page (injection, check, minification).

use sopixi::policy::compliance::{self, Injector};
use sopixi::policy::Policy;
use sopixi::render::body::render_body;
use sopixi::render::highlight::Highlighter;
use sopixi::render::markdown::MdContext;
use sopixi::site::config::{BuildOptions, Config};
use sopixi::site::content;

use crate::support::fixtures;

#[test]
fn inputs_that_once_crashed_go_through_every_step() {
    let config = Config::load("title: Fuzz\nbase_url: https://example.org/\n", &BuildOptions::default()).unwrap();
    let highlighter = Highlighter::default();
    let policy = Policy::default();
    let injector = Injector::new(&policy, "fr", "fr");
    let mut seen = 0;
    for entry in std::fs::read_dir(fixtures().join("fuzz")).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        seen += 1;
        let text = String::from_utf8_lossy(&data).into_owned();
        let (parsed, _) = content::parse("fuzz/page.md", text.clone(), &config);
        let resolve = |p: &str| Some(format!("/{p}/"));
        let cx = MdContext {
            config: &config.site.markdown,
            resolve: &resolve,
            highlighter: &highlighter,
            responsive_images: true,
        };
        let _ = render_body(&parsed, &cx, &|c| Ok(format!("<div>{}</div>", c.name)));
        for adult in [false, true] {
            if let Ok(done) = injector.inject(&text, adult) {
                let _ = compliance::check(&done.html, adult, &policy);
            }
        }
        if let Ok(min) = sopixi::render::minify::html(&data) {
            let _ = compliance::append_if_certain(min, injector.block().as_bytes());
        }
    }
    assert!(seen > 0, "no input in tests/fixtures/fuzz");
}
