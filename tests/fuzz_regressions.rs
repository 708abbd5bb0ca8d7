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
        let path = entry.unwrap().path();
        let entry_name = path.display().to_string();
        let data = std::fs::read(&path).unwrap();
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
        // The `inject` target's property: as the end of a template, a page the injector does
        // not refuse has its platform elements where a browser puts them.
        let page = format!("<!doctype html><html><head><title>t</title></head><body><p>x</p>{text}</body></html>");
        for adult in [false, true] {
            if let Ok(done) = injector.inject(&page, adult) {
                // (A page with platform markup of its own has no verdict: the build checks
                // its finished bytes in full, then with the tree builder.)
                if done.lost.is_none() && done.verdict_given() {
                    assert_eq!(
                        sopixi::policy::tree::placement(&done.html, adult),
                        sopixi::policy::tree::Placement::Sound,
                        "{}",
                        entry_name
                    );
                }
            }
        }
        if let Ok(min) = sopixi::render::minify::html(&data) {
            let _ = compliance::append_if_certain(min, injector.block().as_bytes());
        }
    }
    assert!(seen > 0, "no input in tests/fixtures/fuzz");
}

/// Pieces of markup that change how what follows is parsed, for generated template endings.
const PIECES: &[&str] = &[
    "<div>",
    "</div>",
    "<p>",
    "<select>",
    "</select>",
    "<option>",
    "<template>",
    "</template>",
    "<!--",
    "-->",
    "<svg>",
    "</svg>",
    "<foreignObject>",
    "<math>",
    "<mi>",
    "</math>",
    "<details>",
    "</details>",
    "<dialog>",
    "<table>",
    "<td>",
    "</table>",
    "<textarea>",
    "</textarea>",
    "<script>",
    "</script>",
    "<style>",
    "</style>",
    "<title>",
    "</title>",
    "<noscript>",
    "<a href=x>",
    "</a>",
    "<button>",
    "</button>",
    "<img alt=\"",
    "\"",
    "'",
    ">",
    "<",
    "</",
    "text",
    "<b>",
    "</b>",
    "<div hidden>",
    "<span style=\"display:none\">",
    "</body>",
    "<body>",
    "</html>",
    "<frameset>",
    "<video>",
    "</video>",
    "<!",
    "<?x",
    "<br/>",
    "<svg/>",
    "<plaintext>",
    "<xmp>",
    "<iframe>",
    "<object>",
    "<ul><li>",
    "&amp;",
    "\n",
    "<html inert>",
    "<body hidden>",
    "<desc>",
    "<canvas>",
];

/// The template-markup injection path, as the `inject` fuzz target drives it, on 4,000 generated
/// endings of a template (a fixed seed: the same cases every run): whatever a template leaves
/// open before `</body>`, a page the build would publish has every platform element where a
/// browser's tree builder puts it in `<body>` (the fast path's scan agreeing with the tree
/// builder), minified or not.
#[test]
fn generated_template_endings_never_publish_a_page_without_its_platform_elements() {
    use sopixi::policy::tree::{placement, Placement};
    let policy = Policy::default();
    let injector = Injector::new(&policy, "en", "en");
    let block_min = sopixi::render::minify::html(injector.block().as_bytes()).unwrap();
    let mut seed: u64 = 0x5eed_50f1_c0de_0001;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut fast, mut injected_ok, mut refused, mut unminified) = (0, 0, 0, 0);
    for case in 0..4000 {
        let n = (next() % 10) as usize;
        let ending: String = (0..n).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
        let adult = case % 5 == 0;
        let page = format!("<!doctype html><html><head><title>t</title></head><body><p>x</p>{ending}</body></html>");
        // The fast path (minified, not adult): what it appends to is sound.
        if let Ok(min) = sopixi::render::minify::html(page.as_bytes()) {
            if let Some(out) = compliance::append_if_certain(min, &block_min) {
                let out = String::from_utf8(out).unwrap();
                assert_eq!(placement(&out, false), Placement::Sound, "fast path, ending {ending:?}:\n{out}");
                fast += 1;
            }
        }
        // The injector: a page it does not refuse is sound, before and after minification.
        // (An error of the streaming rewriter on ambiguous markup refuses the page too.)
        let Ok(done) = injector.inject(&page, adult) else {
            refused += 1;
            continue;
        };
        if done.lost.is_some() || !done.verdict_given() {
            refused += 1;
            continue;
        }
        assert_eq!(placement(&done.html, adult), Placement::Sound, "injected, ending {ending:?}:\n{}", done.html);
        // (The build checks the minified page again and publishes it unminified when minifying
        // moved the elements: counted here.)
        if let Ok(min) = sopixi::render::minify::html(done.html.as_bytes()) {
            if placement(&String::from_utf8(min).unwrap(), adult) != Placement::Sound {
                unminified += 1;
            }
        }
        injected_ok += 1;
    }
    // Each path was taken often enough for the cases to mean something.
    eprintln!("fast path {fast}, injected {injected_ok} ({unminified} left unminified), refused {refused}");
    assert!(
        fast > 300 && injected_ok > 1000 && refused > 300,
        "fast {fast}, injected {injected_ok}, refused {refused}"
    );
}
