//! Images: finding a picture a page or template names, planning resized variants, and making
//! them — once, in parallel, cached across builds.
//!
//! In: the site root, the theme's static files, the `images:` settings, and requests — from the
//! `resize_image`/`image_meta` template functions and from `<img data-responsive>` elements
//! (every Markdown image is one). Out: URLs and sizes at once (from the file's header, never a
//! decode), then, after rendering, [`Images::process`] makes every variant the build used: each
//! source decoded once for all its sizes, EXIF orientation applied, resized with a SIMD
//! resizer, encoded without any metadata, and written under a content-addressed name to the cache
//! folder, from where the output refers to it. Never reads outside the site (or the theme), never
//! writes outside the cache folder.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use image::{DynamicImage, ImageDecoder, ImageFormat};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub mod card;

use crate::theme::{self, Theme};
use crate::util::diag::{Diagnostic, Kind, Origin};
use crate::util::text::{normalize, Malformed};

/// The output folder of processed images (under the site root of the output).
pub const OUT_DIR: &str = "processed_images";

/// The site paths of the share cards a rendered page names.
pub(crate) fn card_paths(html: &[u8]) -> Vec<String> {
    let needle = format!("{OUT_DIR}/card.");
    let mut out: Vec<String> = Vec::new();
    for at in memchr::memmem::find_iter(html, needle.as_bytes()) {
        let rest = &html[at + needle.len()..];
        if let Some(hex) = rest.get(..20).filter(|h| h.iter().all(u8::is_ascii_hexdigit)) {
            let p = format!("{OUT_DIR}/card.{}.png", String::from_utf8_lossy(hex));
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// What the `images:` key of `site.yaml` resolves to.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Widths of the automatic responsive variants, ascending.
    pub widths: Vec<u32>,
    /// Encoder quality, 1–100 (JPEG and WebP).
    pub quality: u8,
    /// Whether responsive images get WebP variants besides the JPEG/PNG fallback.
    pub webp: bool,
    /// The `sizes` attribute; `None`: the image's largest width, or the whole viewport if narrower.
    pub sizes: Option<String>,
    /// Largest source accepted, in pixels (decompression bombs are refused before decoding).
    pub(crate) max_pixels: u64,
    /// The cache folder (absolute).
    pub cache_dir: PathBuf,
}

/// Where a source's bytes are.
#[derive(Debug, Clone)]
enum Data {
    File(PathBuf),
    Static(&'static [u8]),
}

/// A source image, as its header describes it.
#[derive(Debug)]
pub(crate) struct Source {
    /// How messages name it (`static/images/a.jpg`, `content/blog/trip/photo.jpg`).
    pub label: String,
    data: Data,
    /// Hash of the bytes (hex).
    hash: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Width and height as displayed (EXIF orientation applied).
    pub width: u32,
    /// See `width`.
    pub height: u32,
    /// Decoded format.
    pub format: ImageFormat,
    orientation: u8,
}

/// Image headers read by the builds of one engine, by absolute path (checked against each
/// file's size and modification time), so that `serve`'s rebuilds and a platform run's many sites
/// read each header once.
#[derive(Default)]
pub struct HeaderCache(Mutex<HashMap<PathBuf, Header>>);

/// What a source's header says, remembered across builds by path, size and modification time.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    len: u64,
    mtime: u128,
    hash: String,
    width: u32,
    height: u32,
    format: String,
    orientation: u8,
    /// A JPEG whose image data stops before its end marker (a cut download or upload).
    #[serde(default)]
    truncated: bool,
}

/// Resize operations of `resize_image`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// Exactly `width`×`height`, the aspect ratio not kept.
    Scale,
    /// `width` wide, height to keep the ratio.
    FitWidth,
    /// `height` high, width to keep the ratio.
    FitHeight,
    /// Within `width`×`height`, ratio kept, never enlarged.
    Fit,
    /// Exactly `width`×`height`, the centre cropped to the ratio.
    Fill,
}

impl Op {
    fn parse(s: &str) -> Result<Op, String> {
        Ok(match s {
            "scale" => Op::Scale,
            "fit_width" => Op::FitWidth,
            "fit_height" => Op::FitHeight,
            "fit" => Op::Fit,
            "fill" => Op::Fill,
            other => {
                return Err(format!("unknown op `{other}`: use scale, fit_width, fit_height, fit or fill"));
            }
        })
    }
    fn name(self) -> &'static str {
        match self {
            Op::Scale => "scale",
            Op::FitWidth => "fit_width",
            Op::FitHeight => "fit_height",
            Op::Fit => "fit",
            Op::Fill => "fill",
        }
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// Lossy WebP.
    Webp,
}

impl Format {
    fn ext(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
        }
    }
    fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
        }
    }
    /// `auto`: the source's own format (JPEG stays JPEG, PNG and GIF become PNG, WebP stays WebP).
    fn auto(source: ImageFormat) -> Format {
        match source {
            ImageFormat::Jpeg => Format::Jpeg,
            ImageFormat::WebP => Format::Webp,
            _ => Format::Png,
        }
    }
    fn parse(s: &str, source: ImageFormat) -> Result<Format, String> {
        Ok(match s {
            "auto" => Format::auto(source),
            "jpg" | "jpeg" => Format::Jpeg,
            "png" => Format::Png,
            "webp" => Format::Webp,
            other => return Err(format!("unknown format `{other}`: use auto, jpg, png or webp")),
        })
    }
}

/// The size of a variant and the part of the source it shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Source rectangle: left, top, width, height (in displayed source pixels).
    pub(crate) crop: (f64, f64, f64, f64),
}

/// Where `op` with the requested `width`/`height` takes a `sw`×`sh` source.
pub(crate) fn geometry(op: Op, sw: u32, sh: u32, width: Option<u32>, height: Option<u32>) -> Result<Geometry, String> {
    let (fw, fh) = (f64::from(sw), f64::from(sh));
    let full = (0.0, 0.0, fw, fh);
    let scaled = |x: f64| (x.round() as u32).max(1);
    let need = |v: Option<u32>, what: &str| match v {
        Some(0) => Err(format!("`{what}` must be at least 1")),
        Some(v) => Ok(v),
        None => Err(format!("op `{}` needs `{what}`", op.name())),
    };
    Ok(match op {
        Op::Scale => Geometry { width: need(width, "width")?, height: need(height, "height")?, crop: full },
        Op::FitWidth => {
            let w = need(width, "width")?;
            Geometry { width: w, height: scaled(fh * f64::from(w) / fw), crop: full }
        }
        Op::FitHeight => {
            let h = need(height, "height")?;
            Geometry { width: scaled(fw * f64::from(h) / fh), height: h, crop: full }
        }
        Op::Fit => {
            let (w, h) = (need(width, "width")?, need(height, "height")?);
            if sw <= w && sh <= h {
                Geometry { width: sw, height: sh, crop: full }
            } else {
                let f = (f64::from(w) / fw).min(f64::from(h) / fh);
                Geometry { width: scaled(fw * f).min(w), height: scaled(fh * f).min(h), crop: full }
            }
        }
        Op::Fill => {
            let (w, h) = (need(width, "width")?, need(height, "height")?);
            let target = f64::from(w) / f64::from(h);
            let crop = if fw / fh > target {
                let cw = fh * target;
                ((fw - cw) / 2.0, 0.0, cw, fh)
            } else {
                let ch = fw / target;
                (0.0, (fh - ch) / 2.0, fw, ch)
            };
            Geometry { width: w, height: h, crop }
        }
    })
}

/// One image file to make.
#[derive(Debug)]
pub(crate) struct Variant {
    source: Arc<Source>,
    geometry: Geometry,
    format: Format,
    quality: u8,
    /// Site path in the output (`processed_images/photo.1a2b3c4d5e6f7a8b.960x640.jpg`).
    pub path: String,
    /// File name in the cache folder.
    cache_name: String,
}

/// Where an HTML text that [`Images::rewrite`] works on stands, which decides how the relative
/// `src` of its images resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within<'a> {
    /// A Markdown body (or summary) of this content file (`content/blog/trip/index.md`): its
    /// relative sources are beside it.
    Content(&'a str),
    /// A rendered output file at this site path (`blog/trip/index.html`): relative URLs resolve
    /// against it, as a browser would.
    Output(&'a str),
}

/// Whether the first image of a text loads at once (the top of a page, likely on screen) or
/// lazily like the others (a summary shown in a listing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstImage {
    /// `loading="lazy"` on every image but the first.
    Eager,
    /// `loading="lazy"` on every image.
    Lazy,
}

/// The images of one build.
pub struct Images {
    root: PathBuf,
    /// `root` with links resolved: a file found is inside the site when its real path is under it.
    real_root: PathBuf,
    theme: Arc<Theme>,
    /// Bundle files: output site path → path under `content/` (for URLs a theme writes).
    assets: HashMap<String, String>,
    base_url: String,
    settings: Settings,
    headers: Mutex<HashMap<String, Header>>,
    sources: Mutex<HashMap<String, Arc<Source>>>,
    variants: Mutex<BTreeMap<String, Arc<Variant>>>,
    /// Cache names of the cleaned originals this build published.
    originals: Mutex<Vec<String>>,
    /// Sources found truncated (by label): published, with a warning.
    truncated: Mutex<BTreeSet<String>>,
    /// Variants made, and taken from the cache, by [`Images::process`].
    counts: Mutex<(usize, usize)>,
    /// Which page each rendering thread is on.
    scopes: Scopes,
    /// Headers of image files read by any build of this engine, by absolute path.
    shared_headers: Arc<HeaderCache>,
    /// The share cards' look (`card:` of the theme), when the build makes cards.
    card_look: std::sync::OnceLock<card::SharedLook>,
    /// Share cards asked for: site path → (title, site name, cache name).
    cards: Mutex<BTreeMap<String, (String, String, String)>>,
}

/// The page each thread is rendering: its folder under the site root, and whether it asked for
/// images. Held by the build's [`Images`] (no thread-local or global state): a thread renders one
/// file at a time, so its entry is set around that one rendering.
#[derive(Default)]
struct Scopes(Mutex<HashMap<std::thread::ThreadId, (Option<String>, bool)>>);

impl Images {
    /// Runs `f` as the rendering of the content file `origin` (`content/blog/trip/index.md`, or
    /// anything else for files that are not content): relative image paths are looked up beside
    /// it. Returns whether the rendering used any image (its output then depends on image files).
    pub(crate) fn scoped<R>(&self, origin: &Origin, f: impl FnOnce() -> R) -> (R, bool) {
        let origin = origin.path().and_then(Path::to_str).unwrap_or("");
        let dir = origin.strip_suffix(".md").and_then(|_| origin.rsplit_once('/')).map(|(d, _)| d.to_string());
        let id = std::thread::current().id();
        let saved = self.scopes.0.lock().unwrap_or_else(|e| e.into_inner()).insert(id, (dir, false));
        let r = f();
        let mut map = self.scopes.0.lock().unwrap_or_else(|e| e.into_inner());
        let used = match saved {
            Some(s) => map.insert(id, s),
            None => map.remove(&id),
        };
        (r, used.is_some_and(|(_, u)| u))
    }

    fn scope_dir(&self) -> Option<String> {
        let id = std::thread::current().id();
        let mut map = self.scopes.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get_mut(&id).and_then(|(dir, used)| {
            *used = true;
            dir.clone()
        })
    }
}

/// `%XX` escapes decoded (a malformed one is kept as it is).
fn percent_decode(s: &str) -> String {
    match crate::util::text::percent_decode(s, Malformed::Keep) {
        Some(b) => String::from_utf8(b).unwrap_or_else(|_| s.to_string()),
        None => s.to_string(),
    }
}

fn mtime_of(m: &std::fs::Metadata) -> u128 {
    m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos())
}

fn short_hash(parts: &[&[u8]]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().to_hex()[..16].to_string()
}

/// The image formats a build decodes.
fn known_format(name: &str) -> Option<ImageFormat> {
    match name {
        "jpeg" => Some(ImageFormat::Jpeg),
        "png" => Some(ImageFormat::Png),
        "gif" => Some(ImageFormat::Gif),
        "webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

fn format_name(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Png => "png",
        ImageFormat::Gif => "gif",
        ImageFormat::WebP => "webp",
        _ => "other",
    }
}

/// Whether a file name looks like an image this module processes.
pub(crate) fn is_raster(path: &str) -> bool {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    matches!(ext.as_str(), "jpg" | "jpeg" | "png" | "gif" | "webp")
}

const HEADERS_FILE: &str = "headers.json";

/// Marks a cache entry used now (so that a concurrent build's pruning keeps it); false when it is
/// not in the cache.
fn touch(file: &Path) -> bool {
    std::fs::File::options().append(true).open(file).and_then(|f| f.set_modified(std::time::SystemTime::now())).is_ok()
}

impl Images {
    /// The images of a build of the site at `root`.
    pub fn new(
        root: &Path,
        theme: Arc<Theme>,
        assets: HashMap<String, String>,
        base_url: &str,
        settings: Settings,
        shared_headers: Arc<HeaderCache>,
    ) -> Images {
        let headers = std::fs::read(settings.cache_dir.join(HEADERS_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Images {
            root: root.to_path_buf(),
            real_root: root.canonicalize().unwrap_or_else(|_| root.to_path_buf()),
            theme,
            assets,
            base_url: base_url.to_string(),
            settings,
            headers: Mutex::new(headers),
            sources: Mutex::default(),
            variants: Mutex::default(),
            originals: Mutex::default(),
            truncated: Mutex::default(),
            counts: Mutex::default(),
            scopes: Scopes::default(),
            shared_headers,
            card_look: std::sync::OnceLock::new(),
            cards: Mutex::default(),
        }
    }

    /// Sets the look of this build's share cards (once; later calls change nothing).
    pub fn set_card_look(&self, look: card::SharedLook) {
        let _ = self.card_look.set(look);
    }

    /// The share card of a page titled `title` on the site `site`: its URL (absolute, under
    /// `base_url`) and size. Made by [`Images::process`] unless the cache has it.
    pub fn card(&self, title: &str, site: &str) -> (String, u32, u32) {
        let look = self.card_look.get_or_init(|| Arc::new(card::Look::builtin()));
        let mut h = blake3::Hasher::new();
        h.update(look.key().as_bytes());
        h.update(title.as_bytes());
        h.update(b"\0");
        h.update(site.as_bytes());
        let hex = h.finalize().to_hex();
        let name = &hex[..20];
        let path = format!("{OUT_DIR}/card.{name}.png");
        let url = format!("{}{path}", self.base_url);
        self.cards
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(path)
            .or_insert_with(|| (title.to_string(), site.to_string(), format!("card.{name}.png")));
        (url, card::SIZE.0, card::SIZE.1)
    }

    /// Plans again the cards (site paths, from [`card_paths`]) of a finished page `serve` reuses
    /// without rendering it: they are taken from the cache, where the build that made the page
    /// put them.
    pub(crate) fn cached_cards(&self, paths: &[String]) {
        let mut cards = self.cards.lock().unwrap_or_else(|e| e.into_inner());
        for p in paths {
            let name = p.rsplit('/').next().unwrap_or(p).to_string();
            cards.entry(p.clone()).or_insert_with(|| (String::new(), String::new(), name));
        }
    }

    /// Makes the cards asked for that the cache lacks, in parallel: (site path, cached file)
    /// of every card, and the cache names used.
    fn process_cards(&self, dir: &Path, errors: &mut Vec<Diagnostic>) -> (Vec<(String, PathBuf, String)>, Vec<String>) {
        let cards = std::mem::take(&mut *self.cards.lock().unwrap_or_else(|e| e.into_inner()));
        if cards.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let look = self.card_look.get_or_init(|| Arc::new(card::Look::builtin())).clone();
        if let Err(e) = std::fs::create_dir_all(dir) {
            errors
                .push(Diagnostic::new(dir.display().to_string(), format!("cannot create the image cache folder: {e}")));
            return (Vec::new(), Vec::new());
        }
        let failed: Vec<Diagnostic> = cards
            .par_iter()
            .map_init(card::Painter::default, |painter, (path, (title, site, cache))| -> Option<Diagnostic> {
                let file = dir.join(cache);
                if touch(&file) {
                    return None;
                }
                if title.is_empty() && site.is_empty() {
                    return Some(
                        Diagnostic::new(
                            format!("(share card) {path}"),
                            "the share card is no longer in the image cache",
                        )
                        .kind(Kind::Image)
                        .hint("build again: the pages that name it are made anew"),
                    );
                }
                // A font that breaks the rasteriser fails this card, not the build.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| painter.render(title, site, &look)))
                    .unwrap_or_else(|_| Err("drawing the share card failed (the theme's card font?)".into()))
                    .and_then(|png| write_atomic(&file, &png).map_err(|e| format!("cannot write the cache: {e}")))
                    .err()
                    .map(|e| Diagnostic::new(format!("(share card) {path}"), e).kind(Kind::Image))
            })
            .flatten()
            .collect();
        errors.extend(failed);
        let published = cards
            .iter()
            .map(|(path, (_, _, cache))| (path.clone(), dir.join(cache), "(share card)".to_string()))
            .collect();
        (published, cards.into_values().map(|(_, _, c)| c).collect())
    }

    /// Variants made by the last [`Images::process`], and variants it found in the cache.
    pub fn counts(&self) -> (usize, usize) {
        *self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Finds `path` as a template or page names it (a query or fragment after it is ignored):
    /// beside the page being rendered (`dir`, under the site root), then under `content/`,
    /// `static/` and the theme's `static/`. A path that leads outside the site is refused.
    fn find(&self, path: &str, dir: Option<&str>) -> Result<(String, Data), ImageError> {
        // A URL's query and fragment name no file (`screenshot.png?raw=true`, common in
        // READMEs; `photo.jpg#center`): the file is the path before them.
        let path = path.split(['?', '#']).next().unwrap_or("");
        // Editors write `my%20photo.jpg` for `my photo.jpg`.
        let decoded = percent_decode(path);
        let path = decoded.as_str();
        let absolute = path.starts_with('/');
        let rel = normalize(path).filter(|r| !r.is_empty()).ok_or_else(|| {
            let message = format!("image path `{path}` leads outside the site: name a file under content/ or static/");
            ImageError::new(Problem::Outside, Some(path), message)
        })?;
        if path.contains(':') && !absolute {
            return Err(ImageError::new(
                Problem::Outside,
                Some(path),
                format!("image path `{path}` is not a site path: name a file under content/ or static/"),
            ));
        }
        let mut tried = Vec::new();
        let mut candidates: Vec<String> = Vec::new();
        if let (Some(d), false) = (dir, absolute) {
            let beside = normalize(&format!("{d}/{path}"));
            // `../x.jpg` from a page may leave its folder, not the site's `content/`.
            if let Some(b) = beside.filter(|b| b.starts_with("content/")) {
                candidates.push(b);
            }
        }
        candidates.push(format!("content/{rel}"));
        candidates.push(format!("static/{rel}"));
        for c in candidates {
            let abs = self.root.join(&c);
            if abs.is_file() {
                let real = abs
                    .canonicalize()
                    .map_err(|e| ImageError::new(Problem::Unreadable, Some(path), format!("cannot read {c}: {e}")))?;
                if !real.starts_with(&self.real_root) {
                    let message = format!("image `{path}` ({c}) is a link to a file outside the site");
                    return Err(ImageError::new(Problem::Outside, Some(path), message));
                }
                return Ok((c, Data::File(abs)));
            }
            tried.push(c);
        }
        match self.theme.find_static(&rel) {
            Ok(Some((origin, theme::Data::File(abs)))) => return Ok((origin, Data::File(abs))),
            Ok(Some((origin, theme::Data::Static(bytes)))) => return Ok((origin, Data::Static(bytes))),
            Ok(None) => tried.push(self.theme.static_label(&rel)),
            Err(why) => return Err(ImageError::new(Problem::Outside, Some(path), format!("image `{path}` {why}"))),
        }
        Err(ImageError::new(
            Problem::NotFound,
            Some(path),
            format!("image `{path}` not found (looked for {})", tried.join(", ")),
        ))
    }

    /// One warning per source image found truncated: its picture is published as far as its data
    /// goes (a decoder fills the rest), which the partner should know.
    pub(crate) fn warnings(&self) -> Vec<Diagnostic> {
        let truncated = self.truncated.lock().unwrap_or_else(|e| e.into_inner());
        truncated
            .iter()
            .map(|label| {
                Diagnostic::new(label.as_str(), "this JPEG is truncated: its image data stops before its end, so part of the picture is missing (often grey)")
                    .kind(Kind::Image)
                    .hint("the file was cut while copied or uploaded: export or copy it again from the original")
            })
            .collect()
    }

    /// The source at `label`, its header read once per build (and its hash once per change).
    fn source(&self, label: String, data: Data) -> Result<Arc<Source>, ImageError> {
        let unreadable = |m: String| ImageError::new(Problem::Unreadable, None, m);
        if let Some(s) = self.sources.lock().unwrap_or_else(|e| e.into_inner()).get(&label) {
            return Ok(s.clone());
        }
        let (len, mtime) = match &data {
            Data::File(p) => {
                let m = std::fs::metadata(p).map_err(|e| unreadable(format!("cannot read {label}: {e}")))?;
                (m.len(), mtime_of(&m))
            }
            Data::Static(b) => (b.len() as u64, 0),
        };
        let fresh = |h: &&Header| h.len == len && h.mtime == mtime && !matches!(data, Data::Static(_));
        let abs = match &data {
            Data::File(p) => Some(p.canonicalize().unwrap_or_else(|_| p.clone())),
            Data::Static(_) => None,
        };
        let known = abs
            .as_ref()
            .and_then(|a| self.shared_headers.0.lock().unwrap_or_else(|e| e.into_inner()).get(a).filter(fresh).cloned())
            .or_else(|| self.headers.lock().unwrap_or_else(|e| e.into_inner()).get(&label).filter(fresh).cloned());
        let header = match known {
            Some(h) => h,
            None => {
                let bytes = read(&data).map_err(|e| unreadable(format!("cannot read {label}: {e}")))?;
                let h = read_header(&bytes, len, mtime).map_err(|e| unreadable(format!("{label}: {e}")))?;
                self.headers.lock().unwrap_or_else(|e| e.into_inner()).insert(label.clone(), h.clone());
                if let Some(a) = abs {
                    self.shared_headers.0.lock().unwrap_or_else(|e| e.into_inner()).insert(a, h.clone());
                }
                h
            }
        };
        if header.truncated {
            self.truncated.lock().unwrap_or_else(|e| e.into_inner()).insert(label.clone());
        }
        let format = known_format(&header.format)
            .ok_or_else(|| unreadable(format!("{label}: not a JPEG, PNG, GIF or WebP image")))?;
        let pixels = u64::from(header.width) * u64::from(header.height);
        if pixels > self.settings.max_pixels {
            let message = format!("{label}: {}", too_big(header.width, header.height, self.settings.max_pixels));
            return Err(ImageError::new(Problem::TooLarge, None, message));
        }
        let s = Arc::new(Source {
            label: label.clone(),
            data,
            hash: header.hash,
            bytes: len,
            width: header.width,
            height: header.height,
            format,
            orientation: header.orientation,
        });
        self.sources.lock().unwrap_or_else(|e| e.into_inner()).insert(label, s.clone());
        Ok(s)
    }

    /// Plans one variant (made later by [`Images::process`]).
    fn variant(&self, source: &Arc<Source>, geometry: Geometry, format: Format, quality: u8) -> Arc<Variant> {
        let op = format!("{:?}|{}|{}", geometry, format.ext(), quality);
        let h = short_hash(&[source.hash.as_bytes(), op.as_bytes()]);
        let stem = source.label.rsplit('/').next().unwrap_or("image");
        let stem = stem.rsplit_once('.').map_or(stem, |(s, _)| s);
        let stem = crate::util::text::slugify(stem);
        let size = format!("{}x{}", geometry.width, geometry.height);
        let ext = format.ext();
        let path = format!("{OUT_DIR}/{stem}.{h}.{size}.{ext}");
        let v = Arc::new(Variant {
            source: source.clone(),
            geometry,
            format,
            quality,
            path: path.clone(),
            cache_name: format!("{h}.{size}.{ext}"),
        });
        self.variants.lock().unwrap_or_else(|e| e.into_inner()).entry(path).or_insert(v).clone()
    }

    fn url(&self, site_path: &str) -> String {
        format!("{}{}", self.base_url, site_path)
    }

    /// `resize_image(path, width, height, op, format, quality)`.
    pub fn resize_image(&self, args: &HashMap<String, serde_json::Value>) -> Result<serde_json::Value, String> {
        let path = args.get("path").and_then(|v| v.as_str()).ok_or("resize_image: `path` is required")?;
        let num = |k: &str| -> Result<Option<u32>, String> {
            match args.get(k) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| format!("resize_image: `{k}` must be a whole number of pixels")),
            }
        };
        let (width, height) = (num("width")?, num("height")?);
        let op = match args.get("op").and_then(|v| v.as_str()) {
            Some(o) => Op::parse(o).map_err(|e| format!("resize_image: {e}"))?,
            None => match (width, height) {
                (Some(_), Some(_)) => Op::Fill,
                (None, Some(_)) => Op::FitHeight,
                _ => Op::FitWidth,
            },
        };
        let quality = match num("quality")? {
            Some(q) if (1..=100).contains(&q) => q as u8,
            Some(_) => return Err("resize_image: `quality` must be between 1 and 100".into()),
            None => self.settings.quality,
        };
        let (label, data) = self.find(path, self.scope_dir().as_deref()).map_err(|e| format!("resize_image: {e}"))?;
        let source = self.source(label, data).map_err(|e| format!("resize_image: {e}"))?;
        let format = Format::parse(args.get("format").and_then(|v| v.as_str()).unwrap_or("auto"), source.format)
            .map_err(|e| format!("resize_image: {e}"))?;
        let g = geometry(op, source.width, source.height, width, height).map_err(|e| format!("resize_image: {e}"))?;
        let v = self.variant(&source, g, format, quality);
        Ok(serde_json::json!({
            "url": self.url(&v.path),
            "static_path": v.path,
            "width": g.width,
            "height": g.height,
            "orig_width": source.width,
            "orig_height": source.height,
            "mime": format.mime(),
        }))
    }

    /// `image_meta(path)`: width, height and format, from the file's header.
    pub fn image_meta(&self, args: &HashMap<String, serde_json::Value>) -> Result<serde_json::Value, String> {
        let path = args.get("path").and_then(|v| v.as_str()).ok_or("image_meta: `path` is required")?;
        let (label, data) = self.find(path, self.scope_dir().as_deref()).map_err(|e| format!("image_meta: {e}"))?;
        let s = self.source(label, data).map_err(|e| format!("image_meta: {e}"))?;
        Ok(serde_json::json!({
            "width": s.width,
            "height": s.height,
            "format": format_name(s.format),
            "bytes": s.bytes,
        }))
    }

    /// The site path a page's `src` URL names: relative to the page at `page_path` (an output
    /// path such as `blog/trip/index.html`) or root-relative, or under the site's base URL.
    fn site_path(&self, src: &str, page_path: &str) -> Option<String> {
        let src = src.split(['?', '#']).next().unwrap_or("");
        let local = match src.strip_prefix(&self.base_url) {
            Some(rest) => format!("/{rest}"),
            None if src.contains("://") || src.starts_with("//") || src.starts_with("data:") => return None,
            None => src.to_string(),
        };
        if local.starts_with('/') {
            return normalize(&local);
        }
        let dir = page_path.rsplit_once('/').map_or("", |(d, _)| d);
        normalize(&format!("{dir}/{local}"))
    }

    /// Rewrites every `<img data-responsive>` of `html` into a `<picture>`: WebP and fallback
    /// `srcset`s at the configured widths (never enlarged), `sizes`, `width`/`height`, and
    /// `loading="lazy" decoding="async"` (but on the first image with [`FirstImage::Eager`]).
    /// `within` says where relative sources resolve.
    pub fn rewrite(&self, html: &str, within: Within<'_>, first: FirstImage) -> Result<String, Vec<ImageError>> {
        use lol_html::html_content::ContentType;
        use lol_html::{element, rewrite_str, RewriteStrSettings};
        let (page, page_path) = match within {
            Within::Content(file) => (Some(file), ""),
            Within::Output(path) => (None, path),
        };
        let first_eager = first == FirstImage::Eager;
        let errors = RefCell::new(Vec::new());
        let seen = std::cell::Cell::new(0usize);
        let dir = page.and_then(|p| p.rsplit_once('/')).map(|(d, _)| d.to_string());
        let out = rewrite_str(
            html,
            RewriteStrSettings {
                element_content_handlers: vec![element!("img[data-responsive]", |el| {
                    el.remove_attribute("data-responsive");
                    let first = seen.get() == 0 && first_eager;
                    seen.set(seen.get() + 1);
                    let src = el.get_attribute("src").unwrap_or_default();
                    let found = if src.contains("://") || src.starts_with("//") || src.starts_with("data:") {
                        match self.site_path(&src, page_path) {
                            Some(p) => self.find_url(&p),
                            None => return Ok(()),
                        }
                    } else if page.is_some() {
                        self.find(&src, dir.as_deref())
                    } else {
                        match self.site_path(&src, page_path) {
                            Some(p) => self.find_url(&p),
                            None => Err(ImageError::new(
                                Problem::Outside,
                                Some(&src),
                                format!("image `{src}` leads outside the site"),
                            )),
                        }
                    };
                    let picture = found.and_then(|(label, data)| {
                        if !is_raster(&label) {
                            return Ok(None);
                        }
                        let source = self.source(label, data)?;
                        if source.format == ImageFormat::Gif {
                            // Animated or not, a GIF is published as it is.
                            return Ok(Some(Picture::plain(source.width, source.height)));
                        }
                        let fixed = el.get_attribute("width").and_then(|w| w.parse::<u32>().ok());
                        Ok(Some(self.picture(&source, fixed)))
                    });
                    match picture {
                        Ok(Some(p)) => {
                            if !p.src.is_empty() {
                                el.set_attribute("src", &p.src)?;
                            }
                            if let Some(s) = &p.srcset {
                                el.set_attribute("srcset", s)?;
                                el.set_attribute("sizes", &p.sizes)?;
                            }
                            el.set_attribute("width", &p.width.to_string())?;
                            el.set_attribute("height", &p.height.to_string())?;
                            if let Some(webp) = &p.webp {
                                el.before(
                                    &format!(
                                        "<picture><source type=\"image/webp\" srcset=\"{}\" sizes=\"{}\">",
                                        webp,
                                        crate::util::text::escape_html(&p.sizes)
                                    ),
                                    ContentType::Html,
                                );
                                el.after("</picture>", ContentType::Html);
                            }
                        }
                        Ok(None) => {}
                        Err(mut e) => {
                            // The line of the page that names the image is found by its `src`.
                            e.image.get_or_insert_with(|| src.clone());
                            errors.borrow_mut().push(e);
                        }
                    }
                    if !first {
                        if !el.has_attribute("loading") {
                            el.set_attribute("loading", "lazy")?;
                        }
                        if !el.has_attribute("decoding") {
                            el.set_attribute("decoding", "async")?;
                        }
                    }
                    Ok(())
                })],
                ..RewriteStrSettings::new()
            },
        )
        .map_err(|e| vec![ImageError::new(Problem::Unreadable, None, format!("cannot rewrite images: {e}"))])?;
        let errors = errors.into_inner();
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// A site path (from a URL) → the file published there: a bundle file, a static file or
    /// the theme's.
    fn find_url(&self, site_path: &str) -> Result<(String, Data), ImageError> {
        if let Some(rel) = self.assets.get(site_path) {
            return Ok((format!("content/{rel}"), Data::File(self.root.join("content").join(rel))));
        }
        self.find(&format!("/{site_path}"), None)
    }

    /// The variants of a responsive image.
    fn picture(&self, source: &Arc<Source>, fixed_width: Option<u32>) -> Picture {
        let (sw, sh) = (source.width, source.height);
        let max = self.settings.widths.iter().copied().max().unwrap_or(sw);
        let mut widths: Vec<u32> = self.settings.widths.iter().copied().filter(|&w| w < sw.min(max)).collect();
        widths.push(sw.min(max));
        widths.sort_unstable();
        widths.dedup();
        let fallback = Format::auto(source.format);
        let q = self.settings.quality;
        let plan = |format: Format| -> Vec<Arc<Variant>> {
            widths
                .iter()
                .map(|&w| {
                    let g = geometry(Op::FitWidth, sw, sh, Some(w), None).unwrap_or(Geometry {
                        width: sw,
                        height: sh,
                        crop: (0.0, 0.0, f64::from(sw), f64::from(sh)),
                    });
                    self.variant(source, g, format, q)
                })
                .collect()
        };
        let srcset = |vs: &[Arc<Variant>]| {
            vs.iter().map(|v| format!("{} {}w", self.url(&v.path), v.geometry.width)).collect::<Vec<_>>().join(", ")
        };
        let main = plan(fallback);
        let webp = (self.settings.webp && fallback != Format::Webp).then(|| srcset(&plan(Format::Webp)));
        let largest = main.last().map_or((sw, sh), |v| (v.geometry.width, v.geometry.height));
        let (width, height) = match fixed_width {
            Some(w) => (w, ((f64::from(largest.1) * f64::from(w) / f64::from(largest.0)).round() as u32).max(1)),
            None => largest,
        };
        let sizes = match (fixed_width, &self.settings.sizes) {
            (Some(w), _) => format!("{w}px"),
            (None, Some(s)) => s.clone(),
            (None, None) => format!("(max-width: {0}px) 100vw, {0}px", largest.0),
        };
        // The fallback `src`: the largest variant up to 1024 px wide.
        let src = main.iter().rev().find(|v| v.geometry.width <= 1024).unwrap_or(&main[0]);
        Picture {
            src: self.url(&src.path),
            srcset: (main.len() > 1 || webp.is_some()).then(|| srcset(&main)),
            webp,
            sizes,
            width,
            height,
        }
    }

    /// Makes every variant the build planned that the cache does not hold yet: sources in
    /// parallel, the largest first, each decoded once for all its variants. Returns the files to
    /// publish (site path → cached file, and the source that produced it) and one message per
    /// source that could not be processed. Then drops cache entries no build used for an hour.
    pub fn process(&self, progress: bool) -> (Vec<(String, PathBuf, String)>, Vec<Diagnostic>) {
        let variants = std::mem::take(&mut *self.variants.lock().unwrap_or_else(|e| e.into_inner()));
        let dir = self.settings.cache_dir.join("images");
        let mut by_source: BTreeMap<String, Vec<Arc<Variant>>> = BTreeMap::new();
        let mut published = Vec::with_capacity(variants.len());
        let mut errors = Vec::new();
        // Two sources with the same bytes make the same files: once.
        let mut planned = std::collections::HashSet::new();
        for v in variants.values() {
            let file = dir.join(&v.cache_name);
            published.push((v.path.clone(), file.clone(), v.source.label.clone()));
            if !planned.insert(v.cache_name.as_str()) {
                continue;
            }
            let hit = touch(&file);
            if !hit {
                by_source.entry(v.source.label.clone()).or_default().push(v.clone());
            }
        }
        if !by_source.is_empty() {
            if let Err(e) = std::fs::create_dir_all(&dir) {
                errors.push(
                    Diagnostic::new(dir.display().to_string(), format!("cannot create the image cache folder: {e}"))
                        .hint("check the folder's permissions, or set `images.cache_dir` in site.yaml"),
                );
                return (published, errors);
            }
        }
        let missing: usize = by_source.values().map(Vec::len).sum();
        *self.counts.lock().unwrap_or_else(|e| e.into_inner()) = (missing, planned.len() - missing);
        let mut jobs: Vec<Vec<Arc<Variant>>> = by_source.into_values().collect();
        // Largest first: the long jobs start early, the short ones fill the gaps at the end.
        jobs.sort_by_key(|vs| std::cmp::Reverse(u64::from(vs[0].source.width) * u64::from(vs[0].source.height)));
        let pixels: u64 = jobs.iter().map(|vs| u64::from(vs[0].source.width) * u64::from(vs[0].source.height)).sum();
        // About 40 ms per megapixel decoded and resized, on one core.
        let seconds = pixels as f64 / 1e6 * 0.04 / rayon::current_num_threads() as f64;
        let bar = crate::util::progress::bar(
            progress && seconds > 2.0,
            jobs.len() as u64,
            "{bar:30} {pos}/{len} images {eta}",
        );
        let max_pixels = self.settings.max_pixels;
        let failed: Vec<Diagnostic> = jobs
            .par_iter()
            .with_max_len(1)
            .filter_map(|vs| {
                let r = make(vs, &dir, max_pixels);
                bar.inc(1);
                r.err()
            })
            .collect();
        bar.finish_and_clear();
        errors.extend(failed);
        // Cards are not counted with the variants (`images_made`, `images_cached`): those count
        // the photos' work.
        let (cards, card_names) = self.process_cards(&dir, &mut errors);
        published.extend(cards);
        self.save_headers();
        if errors.is_empty() {
            let originals = self.originals.lock().unwrap_or_else(|e| e.into_inner());
            let used: std::collections::HashSet<&str> = variants
                .values()
                .map(|v| v.cache_name.as_str())
                .chain(originals.iter().map(String::as_str))
                .chain(card_names.iter().map(String::as_str))
                .collect();
            prune(&dir, &used, std::time::Duration::from_secs(3600));
        }
        (published, errors)
    }

    /// A published original (a bundle or static JPEG/PNG, copied as is otherwise) without its
    /// metadata: the cached copy, made once per version of the file. `None` when the file is
    /// not an image this can clean (the caller copies it as it is).
    pub(crate) fn published_original(&self, label: &str, abs: &Path) -> Result<Option<PathBuf>, String> {
        let source = match self.source(label.to_string(), Data::File(abs.to_path_buf())) {
            Ok(s) if matches!(s.format, ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) => s,
            Ok(_) => return Ok(None),
            Err(e) => return Err(e.message),
        };
        let ext = match source.format {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::WebP => "webp",
            _ => "png",
        };
        let name = format!("{}.orig.{ext}", &source.hash[..16]);
        let dir = self.settings.cache_dir.join("images");
        let file = dir.join(&name);
        self.originals.lock().unwrap_or_else(|e| e.into_inner()).push(name);
        let hit = std::fs::File::options()
            .append(true)
            .open(&file)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        if hit.is_ok() {
            return Ok(Some(file));
        }
        let bytes = std::fs::read(abs).map_err(|e| format!("cannot read {label}: {e}"))?;
        let Some(clean) = strip_metadata(&bytes, source.orientation) else {
            return Err(format!("{label}: corrupt image (its structure cannot be read)"));
        };
        std::fs::create_dir_all(&dir)
            .and_then(|_| write_atomic(&file, &clean))
            .map_err(|e| format!("cannot write the image cache {}: {e}", dir.display()))?;
        Ok(Some(file))
    }

    fn save_headers(&self) {
        let headers = self.headers.lock().unwrap_or_else(|e| e.into_inner());
        if headers.is_empty() {
            return;
        }
        let Ok(json) = serde_json::to_vec(&*headers) else { return };
        let _ = write_atomic(&self.settings.cache_dir.join(HEADERS_FILE), &json);
    }
}

/// A JPEG or PNG file without its metadata: EXIF (but for the orientation, kept as a minimal
/// EXIF block), XMP, IPTC and comments for JPEG; `eXIf` and text chunks for PNG. The pixels, the
/// colour profile and everything else stay byte for byte. `None` for anything else.
pub(crate) fn strip_metadata(bytes: &[u8], orientation: u8) -> Option<Vec<u8>> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        strip_jpeg(bytes, orientation)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        strip_png(bytes)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        strip_webp(bytes)
    } else {
        None
    }
}

fn strip_jpeg(bytes: &[u8], orientation: u8) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    if orientation > 1 && orientation <= 8 {
        // APP1 "Exif": a big-endian TIFF header and one IFD with one entry, Orientation.
        out.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x22]);
        out.extend_from_slice(b"Exif\0\0MM\0\x2a\0\0\0\x08");
        out.extend_from_slice(&[
            0x00,
            0x01,
            0x01,
            0x12,
            0x00,
            0x03,
            0x00,
            0x00,
            0x00,
            0x01,
            0x00,
            orientation,
            0x00,
            0x00,
        ]);
        out.extend_from_slice(&[0, 0, 0, 0]);
    }
    let mut i = 2;
    loop {
        if i + 4 > bytes.len() || bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            // Start of scan: the compressed pixels follow, kept as they are.
            out.extend_from_slice(&bytes[i..]);
            return Some(out);
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let end = i + 2 + len;
        if len < 2 || end > bytes.len() {
            return None;
        }
        // APP1 (EXIF, XMP), APP13 (IPTC), COM: metadata. APP0 (JFIF), APP2 (ICC colour
        // profile), APP14 (Adobe colour transform) and the tables stay.
        if !matches!(marker, 0xE1 | 0xED | 0xFE) {
            out.extend_from_slice(&bytes[i..end]);
        }
        i = end;
    }
}

/// WebP: the `EXIF` and `XMP ` chunks go, and their flags in the `VP8X` header.
fn strip_webp(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..12]);
    let mut i = 12;
    while i + 8 <= bytes.len() {
        let kind = &bytes[i..i + 4];
        let len = u32::from_le_bytes(bytes[i + 4..i + 8].try_into().ok()?) as usize;
        let end = (i + 8).checked_add(len + (len & 1))?.min(bytes.len());
        if i + 8 + len > bytes.len() {
            return None;
        }
        if kind == b"VP8X" && len >= 1 {
            let at = out.len() + 8;
            out.extend_from_slice(&bytes[i..end]);
            out[at] &= !(0x08 | 0x04);
        } else if kind != b"EXIF" && kind != b"XMP " {
            out.extend_from_slice(&bytes[i..end]);
        }
        i = end;
    }
    let size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Some(out)
}

fn strip_png(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..8]);
    let mut i = 8;
    while i + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[i..i + 4].try_into().ok()?) as usize;
        let end = i.checked_add(12)?.checked_add(len)?;
        if end > bytes.len() {
            return None;
        }
        let kind = &bytes[i + 4..i + 8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(&bytes[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            return Some(out);
        }
    }
    None
}

/// A planned `<picture>`.
struct Picture {
    src: String,
    srcset: Option<String>,
    webp: Option<String>,
    sizes: String,
    width: u32,
    height: u32,
}

impl Picture {
    /// The image as it is, with its size.
    fn plain(width: u32, height: u32) -> Picture {
        Picture { src: String::new(), srcset: None, webp: None, sizes: String::new(), width, height }
    }
}

fn read(data: &Data) -> std::io::Result<std::borrow::Cow<'static, [u8]>> {
    match data {
        Data::File(p) => std::fs::read(p).map(std::borrow::Cow::Owned),
        Data::Static(b) => Ok(std::borrow::Cow::Borrowed(b)),
    }
}

fn orientation_code(o: image::metadata::Orientation) -> u8 {
    o.to_exif()
}

fn read_header(bytes: &[u8], len: u64, mtime: u128) -> Result<Header, String> {
    let reader = image::ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    let format = reader.format().ok_or("not an image this build can read (JPEG, PNG, GIF or WebP)")?;
    if known_format(format_name(format)).is_none() {
        return Err(format!("{format:?} images are not processed: use JPEG, PNG, GIF or WebP"));
    }
    let mut decoder = reader.into_decoder().map_err(|e| format!("corrupt or unreadable image: {e}"))?;
    let (w, h) = decoder.dimensions();
    let orientation = decoder.orientation().map(orientation_code).unwrap_or(1);
    let (width, height) = if (5..=8).contains(&orientation) { (h, w) } else { (w, h) };
    Ok(Header {
        len,
        mtime,
        hash: blake3::hash(bytes).to_hex().to_string(),
        width,
        height,
        format: format_name(format).to_string(),
        orientation,
        truncated: format == ImageFormat::Jpeg && jpeg_truncated(bytes),
    })
}

/// Whether a JPEG's image data stops before its end-of-image marker: its segments are walked
/// from the start (application segments, and the thumbnails inside them, skipped by their
/// length), then the scans' data is searched for the end marker. Trailing data after the end
/// marker (some cameras append their own) does not matter. Certain: a well-formed file is
/// never called truncated.
fn jpeg_truncated(b: &[u8]) -> bool {
    let mut i = 2; // after SOI
                   // The segments before the first scan.
    loop {
        let Some(&[0xFF, marker]) = b.get(i..i + 2) else { return true };
        match marker {
            0xFF => i += 1, // fill byte
            0xD8 | 0x01 | 0xD0..=0xD7 => i += 2,
            0xD9 => return false,
            _ => {
                let Some(&[hi, lo]) = b.get(i + 2..i + 4) else { return true };
                let len = usize::from(hi) << 8 | usize::from(lo);
                i += 2 + len;
                if marker == 0xDA {
                    break;
                }
            }
        }
    }
    // Entropy-coded data, scans and tables between them, up to the end marker.
    while i < b.len() {
        let Some(at) = memchr::memchr(0xFF, &b[i..]) else { return true };
        i += at + 1;
        match b.get(i) {
            None => return true,
            Some(0xD9) => return false,
            // Stuffed byte, restart markers, fill bytes: still in the data.
            Some(0x00 | 0xD0..=0xD7 | 0xFF) => {}
            // Another segment (a table, the next progressive scan): skip it by its length.
            Some(_) => {
                let Some(&[hi, lo]) = b.get(i + 1..i + 3) else { return true };
                i += 1 + (usize::from(hi) << 8 | usize::from(lo));
            }
        }
    }
    true
}

/// The kind of an image problem: each has its own advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Above `images.max_megapixels`.
    TooLarge,
    /// The path leads outside the site (or theme), or is not a site path.
    Outside,
    /// No such file where images are looked up.
    NotFound,
    /// The file cannot be read or is not a JPEG, PNG, GIF or WebP image.
    Unreadable,
}

impl Problem {
    /// What the partner should do about it.
    pub fn hint(self) -> &'static str {
        match self {
            Problem::TooLarge => "make the photo smaller (phones and editors can export it at a lower size), or raise `images.max_megapixels` in site.yaml",
            Problem::Outside => "name a file under content/ (beside the page, or from content/) or under static/",
            Problem::NotFound => "put the image beside the page (a page bundle), under content/ or under static/, and name it by its path",
            Problem::Unreadable => "replace the file with a valid JPEG, PNG, GIF or WebP image (an export from a phone or an editor)",
        }
    }
}

/// An image problem: its kind, the image as the page names it (to find the line), and what
/// happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageError {
    /// The kind, which decides the advice.
    pub problem: Problem,
    /// The image as the page or template names it, when known.
    pub image: Option<String>,
    /// What went wrong.
    pub message: String,
}

impl ImageError {
    fn new(problem: Problem, image: Option<&str>, message: impl Into<String>) -> ImageError {
        ImageError { problem, image: image.map(str::to_string), message: message.into() }
    }
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn too_big(width: u32, height: u32, max_pixels: u64) -> String {
    let pixels = u64::from(width) * u64::from(height);
    format!(
        "{width}×{height} pixels ({:.0} megapixels) is above the limit of {:.0} megapixels",
        pixels as f64 / 1e6,
        max_pixels as f64 / 1e6
    )
}

/// Decodes `source`: orientation applied, 8 bits per channel, RGB or RGBA.
fn decode(source: &Source, bytes: &[u8], max_pixels: u64) -> Result<DynamicImage, String> {
    if u64::from(source.width) * u64::from(source.height) > max_pixels {
        return Err(too_big(source.width, source.height, max_pixels));
    }
    let mut reader = image::ImageReader::new(Cursor::new(bytes));
    reader.set_format(source.format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| format!("corrupt or unreadable image: {e}"))?;
    let icc = decoder.icc_profile().ok().flatten();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| format!("corrupt or unreadable image: {e}"))?;
    if let Some(o) = image::metadata::Orientation::from_exif(source.orientation) {
        img.apply_orientation(o);
    }
    let mut img = if img.color().has_alpha() {
        DynamicImage::ImageRgba8(img.into_rgba8())
    } else {
        DynamicImage::ImageRgb8(img.into_rgb8())
    };
    if let Some(icc) = icc {
        to_srgb(&mut img, &icc);
    }
    Ok(img)
}

/// Converts the pixels of a photo tagged with a colour profile (a phone's Display P3, Adobe RGB
/// …) to sRGB, which is what an untagged variant is taken to be. A profile that cannot be read
/// leaves the pixels as they are.
pub(crate) fn to_srgb(img: &mut DynamicImage, icc: &[u8]) {
    use moxcms::{ColorProfile, Layout, TransformOptions};
    let Ok(profile) = ColorProfile::new_from_slice(icc) else { return };
    let (layout, raw): (Layout, &mut [u8]) = match img {
        DynamicImage::ImageRgb8(b) => (Layout::Rgb, &mut **b),
        DynamicImage::ImageRgba8(b) => (Layout::Rgba, &mut **b),
        _ => return,
    };
    let srgb = ColorProfile::new_srgb();
    let Ok(t) = profile.create_transform_8bit(layout, &srgb, layout, TransformOptions::default()) else { return };
    let mut out = vec![0u8; raw.len()];
    if t.transform(raw, &mut out).is_ok() {
        raw.copy_from_slice(&out);
    }
}

/// Makes the variants of one source (all of them missing from the cache).
fn make(vs: &[Arc<Variant>], dir: &Path, max_pixels: u64) -> Result<(), Diagnostic> {
    let source = &vs[0].source;
    let fail = |msg: String| {
        Diagnostic::new(&source.label, msg).hint(
            "replace the file with a valid JPEG, PNG, GIF or WebP image (a phone photo or an export from an editor)",
        )
    };
    let bytes = read(&source.data).map_err(|e| fail(format!("cannot read: {e}")))?;
    let img = decode(source, &bytes, max_pixels).map_err(fail)?;
    drop(bytes);
    let results: Vec<Result<(), String>> = vs
        .par_iter()
        .map(|v| {
            let out = resize(&img, v.geometry)?;
            let encoded = encode(&out, v.format, v.quality)?;
            write_atomic(&dir.join(&v.cache_name), &encoded).map_err(|e| format!("cannot write the cache: {e}"))
        })
        .collect();
    results.into_iter().collect::<Result<(), String>>().map_err(fail)
}

/// Resizes (and crops) with fast_image_resize's Lanczos3 convolution.
pub fn resize(img: &DynamicImage, g: Geometry) -> Result<DynamicImage, String> {
    let (x, y, w, h) = g.crop;
    if g.width == img.width() && g.height == img.height() && x == 0.0 && y == 0.0 {
        return Ok(img.clone());
    }
    let mut dst = DynamicImage::new(g.width, g.height, img.color());
    let options = fast_image_resize::ResizeOptions::new()
        .resize_alg(fast_image_resize::ResizeAlg::Convolution(fast_image_resize::FilterType::Lanczos3))
        .crop(x, y, w, h);
    fast_image_resize::Resizer::new().resize(img, &mut dst, &options).map_err(|e| format!("cannot resize: {e}"))?;
    Ok(dst)
}

/// Encodes without any metadata.
pub fn encode(img: &DynamicImage, format: Format, quality: u8) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    match format {
        Format::Jpeg => {
            let rgb;
            let img = if img.color().has_alpha() {
                rgb = DynamicImage::ImageRgb8(flatten(img));
                &rgb
            } else {
                img
            };
            // jpeg-encoder (SIMD): four times faster than `image`'s encoder here, and 4:2:0
            // chroma subsampling, as cameras and libjpeg do (files a third smaller).
            let (w, h) = (u16::try_from(img.width()), u16::try_from(img.height()));
            let (Ok(w), Ok(h)) = (w, h) else { return Err("a JPEG is at most 65,535 pixels wide and high".into()) };
            let rgb = match img {
                DynamicImage::ImageRgb8(b) => std::borrow::Cow::Borrowed(b),
                other => std::borrow::Cow::Owned(other.to_rgb8()),
            };
            jpeg_encoder::Encoder::new(&mut out, quality)
                .encode(rgb.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
                .map_err(|e| format!("cannot encode JPEG: {e}"))?;
        }
        Format::Png => {
            let enc = image::codecs::png::PngEncoder::new_with_quality(
                &mut out,
                image::codecs::png::CompressionType::Fast,
                image::codecs::png::FilterType::Adaptive,
            );
            img.write_with_encoder(enc).map_err(|e| format!("cannot encode PNG: {e}"))?;
        }
        Format::Webp => {
            let encoder = match img {
                DynamicImage::ImageRgba8(b) => webp::Encoder::from_rgba(b.as_raw(), img.width(), img.height()),
                DynamicImage::ImageRgb8(b) => webp::Encoder::from_rgb(b.as_raw(), img.width(), img.height()),
                _ => return Err("cannot encode WebP from this pixel format".into()),
            };
            // Method 2 of libwebp's 0 (fast) to 6 (small): 2.5 times faster than its default 4,
            // for files 3 to 5 % larger (benches/image-stages).
            let mut config = webp::WebPConfig::new().map_err(|_| "cannot set up the WebP encoder".to_string())?;
            config.quality = f32::from(quality);
            config.method = 2;
            let mem = encoder.encode_advanced(&config).map_err(|e| format!("cannot encode WebP: {e:?}"))?;
            out.extend_from_slice(&mem);
        }
    }
    Ok(out)
}

/// RGBA over white, for formats without transparency.
fn flatten(img: &DynamicImage) -> image::RgbImage {
    let rgba = img.to_rgba8();
    image::RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = u16::from(p[3]);
        let mix = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
        image::Rgb([mix(p[0]), mix(p[1]), mix(p[2])])
    })
}

/// Writes through a temporary file and a rename, so that a reader (another build) sees the
/// whole file or none.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Removes cache files this build did not use and no build touched for `grace` (so that a
/// build running at the same time, on the same cache, keeps what it uses).
fn prune(dir: &Path, used: &std::collections::HashSet<&str>, grace: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let now = std::time::SystemTime::now();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if used.contains(name) {
            continue;
        }
        let old = e
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > grace);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_of_each_op() {
        let g = geometry(Op::FitWidth, 2400, 1600, Some(960), None).unwrap();
        assert_eq!((g.width, g.height), (960, 640));
        let g = geometry(Op::FitHeight, 2400, 1600, None, Some(400)).unwrap();
        assert_eq!((g.width, g.height), (600, 400));
        let g = geometry(Op::Scale, 2400, 1600, Some(100), Some(100)).unwrap();
        assert_eq!((g.width, g.height, g.crop), (100, 100, (0.0, 0.0, 2400.0, 1600.0)));
        // Fit: inside the box, ratio kept, never enlarged.
        let g = geometry(Op::Fit, 2400, 1600, Some(500), Some(500)).unwrap();
        assert_eq!((g.width, g.height), (500, 333));
        let g = geometry(Op::Fit, 300, 200, Some(500), Some(500)).unwrap();
        assert_eq!((g.width, g.height), (300, 200));
        // Fill: the centre, cropped to the box's ratio.
        let g = geometry(Op::Fill, 2400, 1600, Some(400), Some(400)).unwrap();
        assert_eq!((g.width, g.height), (400, 400));
        assert_eq!(g.crop, (400.0, 0.0, 1600.0, 1600.0));
        let g = geometry(Op::Fill, 1000, 2000, Some(200), Some(100)).unwrap();
        assert_eq!(g.crop, (0.0, 750.0, 1000.0, 500.0));
        assert!(geometry(Op::Fill, 10, 10, Some(5), None).unwrap_err().contains("needs `height`"));
        assert!(geometry(Op::Scale, 10, 10, Some(0), Some(3)).unwrap_err().contains("at least 1"));
    }

    #[test]
    fn a_wide_gamut_photo_is_converted_to_srgb() {
        let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
        let mut img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(2, 1, |x, _| {
            if x == 0 {
                image::Rgb([40, 160, 40])
            } else {
                image::Rgb([128, 128, 128])
            }
        }));
        to_srgb(&mut img, &p3);
        let rgb = img.to_rgb8();
        let green = rgb.get_pixel(0, 0).0;
        // A P3 green is a more saturated sRGB green: red down, green up.
        assert!(green[0] < 40 && green[1] > 160, "{green:?}");
        let grey = rgb.get_pixel(1, 0).0;
        assert!(grey.iter().all(|&c| (126..=130).contains(&c)), "grey stays grey: {grey:?}");
        // Unreadable profiles change nothing.
        let before = img.clone();
        to_srgb(&mut img, b"not a profile");
        assert_eq!(img, before);
    }

    #[test]
    fn webp_metadata_chunks_are_removed() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(4, 3, image::Rgb([200, 10, 10])));
        let simple = encode(&img, Format::Webp, 80).unwrap();
        // The extended form: VP8X (EXIF and XMP flags set), the image, EXIF and XMP chunks.
        let mut body = b"WEBP".to_vec();
        body.extend_from_slice(b"VP8X\x0a\0\0\0\x0c\0\0\0\x03\0\0\x02\0\0");
        body.extend_from_slice(&simple[12..]);
        for (kind, data) in [(b"EXIF", &b"GPS 45N 4E"[..]), (b"XMP ", &b"<x:xmpmeta/>!"[..])] {
            body.extend_from_slice(kind);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend_from_slice(&body);
        assert!(image::load_from_memory(&file).is_ok());
        let clean = strip_metadata(&file, 1).unwrap();
        let has = |b: &[u8], n: &[u8]| b.windows(n.len()).any(|w| w == n);
        assert!(has(&file, b"GPS 45N") && !has(&clean, b"GPS 45N") && !has(&clean, b"xmpmeta"));
        assert_eq!(clean[20] & 0x0c, 0, "the EXIF and XMP flags are cleared");
        assert_eq!(u32::from_le_bytes(clean[4..8].try_into().unwrap()) as usize, clean.len() - 8);
        let back = image::load_from_memory(&clean).unwrap();
        assert_eq!((back.width(), back.height()), (4, 3));
    }

    #[test]
    fn normalize_refuses_climbing_out() {
        assert_eq!(normalize("a/./b/../c.jpg").as_deref(), Some("a/c.jpg"));
        assert_eq!(normalize("../etc/passwd"), None);
        assert_eq!(normalize("a/../../x"), None);
        assert_eq!(normalize("/images/x.jpg").as_deref(), Some("images/x.jpg"));
        assert_eq!(percent_decode("my%20photo%C3%A9.jpg"), "my photoé.jpg");
        assert_eq!(percent_decode("100%.jpg"), "100%.jpg");
        // An encoded `..` is still a `..`.
        assert_eq!(normalize(&percent_decode("%2E%2E/x")), None);
    }

    #[test]
    fn resize_and_encode_each_format() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(300, 200, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        }));
        let g = geometry(Op::Fill, 300, 200, Some(50), Some(50)).unwrap();
        let out = resize(&img, g).unwrap();
        assert_eq!((out.width(), out.height()), (50, 50));
        for (f, magic) in [(Format::Jpeg, &b"\xff\xd8"[..]), (Format::Png, b"\x89PNG"), (Format::Webp, b"RIFF")] {
            let bytes = encode(&out, f, 80).unwrap();
            assert!(bytes.starts_with(magic), "{f:?}");
            let back = image::load_from_memory(&bytes).unwrap();
            assert_eq!((back.width(), back.height()), (50, 50), "{f:?}");
        }
    }
}
