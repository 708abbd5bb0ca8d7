//! One content file, as a partner could write it: front matter, Markdown and shortcodes, parsed
//! and rendered the way a build does. Any panic or abort is a bug; errors are fine.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sopixi::render::body::render_body;
use sopixi::render::highlight::Highlighter;
use sopixi::render::markdown::MdContext;
use sopixi::site::config::{BuildOptions, Config};
use sopixi::site::content;

fn config() -> &'static Config {
    static C: OnceLock<Config> = OnceLock::new();
    C.get_or_init(|| Config::load("title: Fuzz\nbase_url: https://example.org/\n", &BuildOptions::default()).unwrap())
}

fn highlighter() -> &'static Highlighter {
    static H: OnceLock<Highlighter> = OnceLock::new();
    H.get_or_init(Highlighter::default)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let config = config();
    let (parsed, _problems) = content::parse("fuzz/page.md", text.to_string(), config);
    let resolve = |p: &str| (p.len() % 2 == 0).then(|| format!("/{p}/"));
    let cx = MdContext {
        config: &config.site.markdown,
        resolve: &resolve,
        highlighter: highlighter(),
        responsive_images: data.first().is_some_and(|b| b & 1 == 1),
    };
    // A shortcode renders its arguments and its body (as the real ones do through Tera).
    let shortcode = |call: &sopixi::render::shortcodes::Call| -> Result<String, String> {
        if call.name == "fail" {
            return Err("fails on purpose".into());
        }
        Ok(format!("<span>{}{:?}{}</span>", call.name, call.args, call.body.as_deref().unwrap_or("")))
    };
    let _ = render_body(&parsed, &cx, &shortcode);
});
