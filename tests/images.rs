//! Images: responsive `<picture>`s, `resize_image`/`image_meta`, metadata stripped, the cache,
//! and bad images reported — on the `images` fixture (a bundle with a phone photo carrying GPS
//! EXIF and orientation 6, a transparent PNG, an animated GIF; a wide static photo).

use std::collections::BTreeSet;

use crate::support::{snapshot, SiteTest};

fn built() -> SiteTest {
    let t = SiteTest::new("images");
    t.build_with(&["--no-minify"]);
    t
}

/// The files of an output folder but its manifest (which records what the build did).
fn site_files(t: &SiteTest, out: &str) -> Vec<(String, Vec<u8>)> {
    snapshot(&t.path(out)).into_iter().filter(|(p, _)| p != ".sopixi-output.json").collect()
}

/// Every `https://photos.example/…` URL of an attribute in `html`, as a site path.
fn referenced(html: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for part in html.split("https://photos.example/").skip(1) {
        let end = part.find(['"', ' ', ',', '\'', ')']).unwrap_or(part.len());
        out.insert(part[..end].to_string());
    }
    out
}

/// The `srcset` attribute of the first element after `after` in `html`.
fn attr_after<'a>(html: &'a str, after: &str, attr: &str) -> &'a str {
    let at = html.find(after).unwrap_or_else(|| panic!("{after:?} not in:\n{html}"));
    let rest = &html[at..];
    let start = rest.find(&format!("{attr}=\"")).unwrap() + attr.len() + 2;
    let len = rest[start..].find('"').unwrap();
    &rest[start..start + len]
}

#[test]
fn markdown_images_become_responsive_pictures() {
    let t = built();
    let html = t.read("trip/index.html");
    // The wide static photo: 2000 px, so 480, 960 and 1600 (never 2000: the widths' maximum).
    let fallback = attr_after(&html, "alt=\"Wide view\"", "srcset");
    let widths: Vec<&str> = fallback.split(", ").map(|s| s.rsplit(' ').next().unwrap()).collect();
    assert_eq!(widths, ["480w", "960w", "1600w"], "{fallback}");
    assert!(fallback.contains(".jpg 480w"), "{fallback}");
    assert!(
        html.contains("<source type=\"image/webp\" srcset=\"https://photos.example/processed_images/wide."),
        "{html}"
    );
    assert!(html.contains("alt=\"Wide view\""));
    let wide = &html[html.find("alt=\"Wide view\"").unwrap()..];
    assert!(wide.contains("width=\"1600\" height=\"800\""), "{wide}");
    assert!(wide.contains("sizes=\"(max-width: 1600px) 100vw, 1600px\""), "{wide}");
    assert!(wide.contains("loading=\"lazy\" decoding=\"async\""), "{wide}");
    // The phone photo: displayed upright (orientation 6: 80×40 stored, 40×80 shown), never
    // enlarged, and the first image of the page is not lazy.
    let phone = &html[html.find("alt=\"From the phone\"").unwrap()..];
    let phone = &phone[..phone.find('>').unwrap()];
    assert!(phone.contains("width=\"40\" height=\"80\""), "{phone}");
    assert!(phone.contains(".40x80.jpg 40w\""), "{phone}");
    assert!(!phone.contains("loading="), "{phone}");
    // The transparent PNG stays PNG (480 and its own 600), with WebP beside it.
    let logo = attr_after(&html, "alt=\"The logo\"", "srcset");
    let widths: Vec<&str> = logo.split(", ").map(|s| s.rsplit_once('.').unwrap().1).collect();
    assert_eq!(widths, ["png 480w", "png 600w"], "{logo}");
    // The animated GIF is published as it is, with its size.
    assert!(
        html.contains("<img src=\"anim.gif\" alt=\"Moving\" width=\"20\" height=\"10\" loading=\"lazy\""),
        "{html}"
    );
    assert!(t.exists("trip/anim.gif"));
    // Every image the page names exists in the output, with the size its name says.
    // (The page's share card, named by a hash and not a size, is checked in tests/business.rs.)
    let urls: Vec<String> = referenced(&html)
        .into_iter()
        .filter(|u| u.starts_with("processed_images/") && !u.starts_with("processed_images/card."))
        .collect();
    assert_eq!(urls.len(), 3 + 3 + 1 + 1 + 2 + 2, "{urls:?}");
    for u in &urls {
        let file = t.path("public").join(u);
        let (w, h) = image::image_dimensions(&file).unwrap_or_else(|e| panic!("{u}: {e}"));
        assert!(u.contains(&format!(".{w}x{h}.")), "{u} is {w}×{h}");
    }
}

#[test]
fn template_functions_resize_and_measure() {
    let t = built();
    let html = t.read("gallery/index.html");
    // fill 300×300 of the 2000×1000 photo (static/), found without a leading slash.
    assert!(html.contains("width=\"300\" height=\"300\" data-orig=\"2000x1000\""), "{html}");
    let fill = attr_after(&html, "id=\"fill\"", "src");
    let file = t.path("public").join(fill.trim_start_matches("https://photos.example/"));
    assert_eq!(image::image_dimensions(&file).unwrap(), (300, 300));
    // A bundle file found under content/, oriented, as WebP.
    let bundle = attr_after(&html, "id=\"bundle\"", "src");
    assert!(bundle.ends_with(".20x40.webp"), "{bundle}");
    assert!(html.contains("data-size=\"20x40\""), "{html}");
    assert!(t.path("public").join(bundle.trim_start_matches("https://photos.example/")).is_file());
    assert!(html.contains("<p id=\"meta\">2000x1000 jpeg</p>"), "{html}");
    // An <img data-responsive> written by a template gets the same treatment as Markdown's.
    let marked = &html[html.find("alt=\"marked\"").unwrap()..];
    assert!(marked.contains("width=\"1600\" height=\"800\""), "{marked}");
    assert!(!html.contains("data-responsive"), "{html}");
}

#[test]
fn published_photos_carry_no_metadata() {
    let t = built();
    let source = std::fs::read(t.path("content/trip/phone.jpg")).unwrap();
    let has = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(has(&source, b"PhoneMaker"), "the fixture should carry EXIF");
    // The bundle copy: no camera, no GPS, but still the orientation (so it shows upright).
    let copy = std::fs::read(t.path("public/trip/phone.jpg")).unwrap();
    assert!(!has(&copy, b"PhoneMaker"));
    let gps_tag = [0x88u8, 0x25];
    assert!(has(&source, &gps_tag) && !has(&copy, &gps_tag), "GPS IFD pointer left in the copy");
    let img = image::load_from_memory(&copy).unwrap();
    assert_eq!((img.width(), img.height()), (80, 40), "the pixels are untouched");
    let mut dec =
        image::ImageReader::new(std::io::Cursor::new(&copy)).with_guessed_format().unwrap().into_decoder().unwrap();
    use image::ImageDecoder;
    assert_eq!(dec.orientation().unwrap(), image::metadata::Orientation::Rotate90);
    // Processed variants carry no EXIF at all.
    for (path, bytes) in snapshot(&t.path("public/processed_images")) {
        assert!(!has(&bytes, b"Exif\0\0") && !has(&bytes, b"PhoneMaker"), "{path}");
    }
}

#[test]
fn a_warm_build_takes_every_image_from_the_cache() {
    let t = SiteTest::new("images");
    let cold = t.build_with(&["--json"]).json();
    assert_eq!(cold["images_made"], 14, "{cold}");
    assert_eq!(cold["images_cached"], 0);
    let first = site_files(&t, "public");
    // A fresh output folder, the same cache: nothing decoded, the same bytes.
    std::fs::remove_dir_all(t.path("public")).unwrap();
    let warm = t.build_with(&["--json"]).json();
    assert_eq!((warm["images_made"].as_u64(), warm["images_cached"].as_u64()), (Some(0), Some(14)), "{warm}");
    assert!(site_files(&t, "public") == first, "a warm build must give the same bytes");
    // A new picture is made, the old ones are not.
    std::fs::copy(t.path("static/images/wide.jpg"), t.path("content/trip/second.jpg")).unwrap();
    t.write("content/about.md", "---\ntitle: About\n---\n![Second](trip/second.jpg)\n");
    let more = t.build_with(&["--json"]).json();
    // Same bytes as wide.jpg: the content-addressed variants are the same files.
    assert_eq!(more["images_made"], 0, "{more}");
    let html = t.read("about/index.html");
    assert!(html.contains("processed_images/second."), "{html}");
    // The cache folder can be elsewhere, and a wiped cache is rebuilt.
    t.write("site.yaml", &(t.read_source("site.yaml") + "images:\n  cache_dir: cache/img\n"));
    let moved = t.build_with(&["--json"]).json();
    assert_eq!(moved["images_made"], 14, "{moved}");
    assert!(t.path("cache/img/images").is_dir());
}

#[test]
fn two_builds_at_once_share_the_cache_safely() {
    let t = SiteTest::new("images");
    let root = t.path("").to_string_lossy().into_owned();
    let spawn = |out: &str| {
        crate::support::bin()
            .args(["build", &root, "-o", &t.path(out).to_string_lossy(), "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("out-a"), spawn("out-b"));
    for c in [a, b] {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(site_files(&t, "out-a") == site_files(&t, "out-b"), "both builds must give the same site");
    let leftovers: Vec<_> = std::fs::read_dir(t.path(".sopixi-cache/images"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_path_out_of_the_site_is_refused_naming_the_template() {
    let t = SiteTest::new("images");
    t.write(
        "templates/gallery.html",
        "{% extends \"base.html\" %}{% block main %}{% set r = resize_image(path=\"../../../etc/passwd\", width=10) %}{% endblock main %}",
    );
    let r = t.build_fails();
    assert!(r.stderr.contains("gallery.html"), "{}", r.stderr);
    assert!(r.stderr.contains("leads outside the site"), "{}", r.stderr);
    // A link out of the site is refused too.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/hostname", t.path("static/out.jpg")).unwrap();
        t.write(
            "templates/gallery.html",
            "{% extends \"base.html\" %}{% block main %}{{ image_meta(path=\"out.jpg\").width }}{% endblock main %}",
        );
        let r = t.build_fails();
        assert!(r.stderr.contains("outside the site"), "{}", r.stderr);
    }
}

#[test]
fn broken_and_oversized_images_are_all_reported_and_nothing_is_lost() {
    let t = built();
    let before = snapshot(&t.path("public"));
    // A corrupt photo, a missing one, and a limit the wide photo (2 megapixels) is above; and
    // a good new one.
    image::RgbImage::from_pixel(30, 30, image::Rgb([9, 99, 199])).save(t.path("content/trip/fresh.png")).unwrap();
    t.write("content/trip/broken.jpg", "\u{FFFD}not a jpeg at all");
    std::fs::write(t.path("content/trip/cut.jpg"), &std::fs::read(t.path("static/images/wide.jpg")).unwrap()[..600])
        .unwrap();
    t.write(
        "content/trip/index.md",
        "---\ntitle: Our trip\n---\n![a](broken.jpg)\n\n![b](cut.jpg)\n\n![c](missing.jpg)\n\n![d](/images/wide.jpg)\n\n![e](fresh.png)\n",
    );
    t.write("site.yaml", &(t.read_source("site.yaml") + "images:\n  max_megapixels: 1\n"));
    let r = t.build_fails();
    for needle in [
        "content/trip/broken.jpg",
        "content/trip/cut.jpg",
        "content/trip/index.md:8: image `missing.jpg` not found",
        "static/images/wide.jpg: 2000×1000 pixels (2 megapixels) is above the limit of 1 megapixels",
    ] {
        assert!(r.stderr.contains(needle), "{needle:?} not in:\n{}", r.stderr);
    }
    assert!(snapshot(&t.path("public")) == before, "a failed build must leave the output as it was");
    // The images that could be made were made: with the bad ones gone, nothing is left to make.
    t.write("content/trip/index.md", "---\ntitle: Our trip\n---\n![From the phone](phone.jpg)\n\n![e](fresh.png)\n");
    t.write("site.yaml", &t.read_source("site.yaml").replace("  max_megapixels: 1\n", ""));
    std::fs::remove_file(t.path("content/trip/broken.jpg")).unwrap();
    std::fs::remove_file(t.path("content/trip/cut.jpg")).unwrap();
    let r = t.build_with(&["--json"]).json();
    assert_eq!(r["images_made"], 0, "{r}");
}

#[test]
fn images_config_is_checked() {
    let t = SiteTest::new("images");
    t.write("site.yaml", &(t.read_source("site.yaml") + "images:\n  widths: []\n  cache_dir: ../elsewhere\n"));
    let r = t.build_fails();
    assert!(r.stderr.contains("`images.widths` must list widths"), "{}", r.stderr);
    assert!(r.stderr.contains("`images.cache_dir` must be a folder inside the site"), "{}", r.stderr);
}

#[test]
fn image_urls_with_a_query_or_fragment_find_their_file() {
    // `![](shot.png?raw=true)` is how READMEs write images: the file is the path before the
    // query (and before a fragment).
    let t = SiteTest::new("images");
    t.write(
        "content/readme.md",
        "---\ntitle: Readme\n---\n![Wide](/images/wide.jpg?raw=true)\n\n![Phone](trip/phone.jpg#center)\n",
    );
    t.build_with(&["--no-minify"]);
    let html = t.read("readme/index.html");
    assert_eq!(html.matches("<picture>").count(), 2, "{html}");
    assert!(attr_after(&html, "alt=\"Wide\"", "srcset").contains("480w"), "{html}");
}

#[test]
fn a_truncated_jpeg_is_published_with_a_warning_naming_it() {
    // A photo cut short (a failed upload): its data stops before the JPEG's end marker. The
    // picture is published as far as its data goes, and the build says so, naming the file.
    let t = SiteTest::new("images");
    let whole = std::fs::read(t.path("static/images/wide.jpg")).unwrap();
    std::fs::write(t.path("static/images/cut.jpg"), &whole[..whole.len() * 2 / 3]).unwrap();
    // Trailing data after a complete JPEG (some cameras add their own) is not truncation.
    let mut trailer = whole.clone();
    trailer.extend_from_slice(b"SEFHtrailer from a phone");
    std::fs::write(t.path("static/images/trailer.jpg"), &trailer).unwrap();
    t.write("content/cut.md", "---\ntitle: Cut\n---\n![Cut](/images/cut.jpg)\n\n![Whole](/images/trailer.jpg)\n");
    let r = t.build_with(&["--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let warnings = v["warnings"].as_array().unwrap_or_else(|| panic!("{v}"));
    let files: Vec<&str> = warnings
        .iter()
        .filter(|w| w["message"].as_str().unwrap().contains("truncated"))
        .map(|w| w["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["static/images/cut.jpg"], "{v}");
    assert!(t.exists("images/cut.jpg"), "published all the same");
}
