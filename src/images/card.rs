//! Share cards: the 1200×630 PNG a page without an image of its own shows when it is shared
//! (Open Graph, Twitter), with its title and the site's name in the theme's colours, drawn with
//! a font that ships with the theme (`card:` in `theme.yaml`; a theme without one gets the
//! built-in DejaVu Sans Bold, subset to Latin, and neutral colours).
//!
//! In: the title, the site's name, a [`Look`]. Out: PNG bytes (made once per title, name and look:
//! [`crate::images::Images::card`] names each by the hash of all three and keeps it in the image
//! cache). Pure; never reads a file (the font comes in as bytes).

use std::sync::Arc;

use ab_glyph::{Font, FontArc, PxScale, ScaleFont};

/// Width and height of every card, in pixels (the size Open Graph and Twitter ask for).
pub const SIZE: (u32, u32) = (1200, 630);

/// The built-in font, for themes without a `card:` font.
const BUILTIN_FONT: &[u8] = include_bytes!("fonts/DejaVuSans-Bold.ttf");

/// How a card looks: the font and three colours.
#[derive(Clone)]
pub struct Look {
    font: FontArc,
    /// A hash of the font's bytes and the colours: part of every card's name.
    key: blake3::Hash,
    background: [u8; 3],
    text: [u8; 3],
    accent: [u8; 3],
}

impl std::fmt::Debug for Look {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Look").field("key", &self.key.to_hex()).finish()
    }
}

impl Look {
    /// A look from a font's bytes and three `#rrggbb` colours; what is wrong otherwise.
    pub fn new(font: Vec<u8>, background: &str, text: &str, accent: &str) -> Result<Look, String> {
        let mut h = blake3::Hasher::new();
        h.update(&font);
        h.update(format!("|{background}|{text}|{accent}|1").as_bytes());
        let font =
            FontArc::try_from_vec(font).map_err(|_| "the card font is not a TrueType or OpenType font".to_string())?;
        let colour = |name: &str, s: &str| {
            crate::util::text::hex_rgb(s)
                .map(|(r, g, b)| [r, g, b])
                .ok_or_else(|| format!("card `{name}` `{s}` is not a hex colour"))
        };
        Ok(Look {
            font,
            key: h.finalize(),
            background: colour("background", background)?,
            text: colour("text", text)?,
            accent: colour("accent", accent)?,
        })
    }

    /// The built-in look: DejaVu Sans Bold, dark text on a light background.
    pub fn builtin() -> Look {
        Look::new(BUILTIN_FONT.to_vec(), "#f7f5f0", "#1f2a44", "#c0392b").expect("the built-in font parses")
    }

    /// What every card of this look is named after, with its texts.
    pub(crate) fn key(&self) -> &blake3::Hash {
        &self.key
    }
}

/// Palette entries: the background, the accent, then the text over the background in
/// [`LEVELS`] steps of coverage (the last one is the text colour itself).
const ACCENT: u8 = 1;
const LEVELS: u8 = 14;

/// A canvas of palette indexes (a card has three colours and the text's anti-aliasing between
/// two of them: a 4-bit palette PNG is a fifth of the bytes of an RGB one, and quicker to make).
struct Canvas {
    px: Vec<u8>,
    /// Two pixels a byte, for the PNG (kept from card to card).
    packed: Vec<u8>,
    w: u32,
    h: u32,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Canvas {
        Canvas { px: vec![0; (w * h) as usize], packed: Vec::new(), w, h }
    }

    fn rect(&mut self, x: u32, y: u32, w: u32, h: u32, index: u8) {
        for yy in y..(y + h).min(self.h) {
            let row = (yy * self.w) as usize;
            self.px[row + x as usize..row + (x + w).min(self.w) as usize].fill(index);
        }
    }

    /// Text at coverage `level` (1 to [`LEVELS`]) over what is there (more coverage wins).
    fn text(&mut self, x: i32, y: i32, level: u8) {
        if x < 0 || y < 0 || x >= self.w as i32 || y >= self.h as i32 {
            return;
        }
        let i = (y as u32 * self.w + x as u32) as usize;
        let old = self.px[i];
        if old == 0 || (old > ACCENT && old - ACCENT < level) {
            self.px[i] = ACCENT + level;
        }
    }

    /// The palette: background, accent, text levels.
    fn palette(look: &Look) -> Vec<u8> {
        let mut p = Vec::with_capacity(16 * 3);
        p.extend_from_slice(&look.background);
        p.extend_from_slice(&look.accent);
        for l in 1..=LEVELS {
            let a = f32::from(l) / f32::from(LEVELS);
            for k in 0..3 {
                let (bg, fg) = (f32::from(look.background[k]), f32::from(look.text[k]));
                p.push((bg + (fg - bg) * a).round() as u8);
            }
        }
        p
    }

    /// The canvas as a 4-bit palette PNG.
    fn png(&mut self, look: &Look) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(16 * 1024);
        let mut e = png::Encoder::new(&mut out, self.w, self.h);
        e.set_color(png::ColorType::Indexed);
        e.set_depth(png::BitDepth::Four);
        e.set_palette(Canvas::palette(look));
        e.set_compression(png::Compression::Fast);
        let packed = &mut self.packed;
        packed.clear();
        for row in self.px.chunks(self.w as usize) {
            for pair in row.chunks(2) {
                packed.push(pair[0] << 4 | pair.get(1).copied().unwrap_or(0));
            }
        }
        let mut w = e.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(packed).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// The width of `s` at `scale`, kerning included.
fn width(font: &FontArc, scale: PxScale, s: &str) -> f32 {
    let f = font.as_scaled(scale);
    let mut w = 0.0;
    let mut prev = None;
    for c in s.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            w += f.kern(p, id);
        }
        w += f.h_advance(id);
        prev = Some(id);
    }
    w
}

/// `text` in lines no wider than `max` at `scale`; a word wider than a line is cut.
fn wrap(font: &FontArc, scale: PxScale, text: &str, max: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if width(font, scale, &candidate) <= max {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word longer than a line: cut it where it no longer fits.
        let mut piece = String::new();
        for c in word.chars() {
            piece.push(c);
            if width(font, scale, &piece) > max {
                piece.pop();
                lines.push(std::mem::take(&mut piece));
                piece.push(c);
            }
        }
        line = piece;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A glyph drawn once: its coverage levels and where they go from the pen's whole pixel.
struct Drawn {
    dx: i32,
    dy: i32,
    w: usize,
    levels: Vec<u8>,
}

/// What draws cards on one thread: the canvas, reused from card to card (a fresh 756 KB buffer
/// a card costs the kernel more than the drawing), and the glyphs already drawn, by glyph, size
/// and quarter-pixel position (a title's letters are mostly the previous title's).
pub struct Painter {
    canvas: Canvas,
    glyphs: std::collections::HashMap<(u16, u32, u8), Option<Drawn>>,
    /// The look the glyphs were drawn for.
    look: Option<blake3::Hash>,
}

impl Default for Painter {
    fn default() -> Self {
        Painter { canvas: Canvas::new(SIZE.0, SIZE.1), glyphs: Default::default(), look: None }
    }
}

impl Painter {
    /// Draws `s` in the text colour with its baseline at `y`, from `x`.
    fn draw(&mut self, font: &FontArc, scale: PxScale, x: f32, y: f32, s: &str) {
        let f = font.as_scaled(scale);
        let y = y.round();
        let mut caret = x;
        let mut prev = None;
        for c in s.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                caret += f.kern(p, id);
            }
            let whole = caret.floor();
            let quarter = ((caret - whole) * 4.0).floor().min(3.0) as u8;
            caret += f.h_advance(id);
            prev = Some(id);
            let drawn = self.glyphs.entry((id.0, scale.x.to_bits(), quarter)).or_insert_with(|| {
                let at = ab_glyph::point(f32::from(quarter) / 4.0, 0.0);
                let outline = font.outline_glyph(id.with_scale_and_position(scale, at))?;
                let b = outline.px_bounds();
                let w = b.width() as usize;
                let mut levels = vec![0u8; w * b.height() as usize];
                outline.draw(|gx, gy, cov| {
                    levels[gy as usize * w + gx as usize] = (cov.clamp(0.0, 1.0) * f32::from(LEVELS)).round() as u8;
                });
                Some(Drawn { dx: b.min.x as i32, dy: b.min.y as i32, w, levels })
            });
            if let Some(d) = drawn {
                let (x0, y0) = (whole as i32 + d.dx, y as i32 + d.dy);
                for (i, &level) in d.levels.iter().enumerate() {
                    if level > 0 {
                        self.canvas.text(x0 + (i % d.w) as i32, y0 + (i / d.w) as i32, level);
                    }
                }
            }
        }
    }
}

/// The card of a page titled `title` on the site `site`, as PNG bytes.
pub fn render(title: &str, site: &str, look: &Look) -> Result<Vec<u8>, String> {
    Painter::default().render(title, site, look)
}

impl Painter {
    /// [`render`], with this painter's canvas and glyphs.
    pub fn render(&mut self, title: &str, site: &str, look: &Look) -> Result<Vec<u8>, String> {
        if self.look != Some(look.key) {
            self.glyphs.clear();
            self.look = Some(look.key);
        }
        self.canvas.px.fill(0);
        let (w, h) = SIZE;
        let (margin, max) = (80.0_f32, w as f32 - 160.0);
        // The accent: a band along the top and a mark before the site's name.
        self.canvas.rect(0, 0, w, 14, ACCENT);
        // The largest size at which the title takes at most three lines (four at the smallest,
        // the last one ending with an ellipsis when even that is not enough).
        let mut chosen = None;
        for size in [84.0_f32, 72.0, 62.0, 54.0] {
            let lines = wrap(&look.font, PxScale::from(size), title, max);
            if lines.len() <= 3 || size == 54.0 {
                chosen = Some((size, lines));
                break;
            }
        }
        let (size, mut lines) = chosen.unwrap_or_default();
        let scale = PxScale::from(size);
        if lines.len() > 4 {
            lines.truncate(4);
            let last = lines.last_mut().expect("four lines");
            while !last.is_empty() && width(&look.font, scale, &format!("{last}…")) > max {
                last.pop();
            }
            last.push('…');
        }
        let line_height = size * 1.18;
        let ascent = look.font.as_scaled(scale).ascent();
        let mut y = 120.0 + ascent;
        for line in &lines {
            self.draw(&look.font, scale, margin, y, line);
            y += line_height;
        }
        // The site's name at the bottom, after the accent's mark.
        let small = PxScale::from(38.0);
        let name_y = h as f32 - 80.0;
        self.canvas.rect(margin as u32, (name_y - 30.0) as u32, 30, 30, ACCENT);
        let mut name = site.to_string();
        while !name.is_empty() && width(&look.font, small, &name) > max - 50.0 {
            name.pop();
        }
        self.draw(&look.font, small, margin + 50.0, name_y, &name);
        self.canvas.png(look).map_err(|e| format!("cannot encode the share card: {e}"))
    }
}

/// A card's look shared by a build (the font is parsed once).
pub type SharedLook = Arc<Look>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_is_a_1200_by_630_png_with_the_text_drawn() {
        let look = Look::builtin();
        let png = render("Pain au levain : la recette de la maison, pas à pas", "Boulangerie Sopixi", &look).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), SIZE);
        // Text colour where the title is drawn, background in the empty right column.
        let text = img.pixels().filter(|p| p.0 == [0x1f, 0x2a, 0x44]).count();
        assert!(text > 5_000, "{text} text pixels");
        assert_eq!(img.get_pixel(1190, 300).0, [0xf7, 0xf5, 0xf0]);
        assert_eq!(img.get_pixel(600, 5).0, [0xc0, 0x39, 0x2b]);
        // A title of 400 characters still fits: four lines, the last cut.
        let long = "mot ".repeat(100);
        assert!(render(&long, "x", &look).is_ok());
        assert!(Look::new(vec![1, 2, 3], "#fff", "#000", "#f00").is_err());
        assert!(Look::new(BUILTIN_FONT.to_vec(), "white", "#000", "#f00").unwrap_err().contains("hex"));
        // Not ASCII: refused, never cut inside a character.
        assert!(Look::new(BUILTIN_FONT.to_vec(), "#aé€", "#000", "#f00").unwrap_err().contains("hex"));
    }

    #[test]
    fn a_painter_drawing_card_after_card_gives_the_bytes_of_a_fresh_one() {
        let look = Look::builtin();
        let mut p = Painter::default();
        for t in ["Premier", "Pain au levain et croissants", "Premier"] {
            assert_eq!(p.render(t, "Site", &look).unwrap(), render(t, "Site", &look).unwrap(), "{t}");
        }
    }

    #[test]
    fn long_words_are_cut_and_lines_kept_within_the_card() {
        let look = Look::builtin();
        let lines = wrap(&look.font, PxScale::from(84.0), &"x".repeat(200), 1040.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width(&look.font, PxScale::from(84.0), l) <= 1040.0));
    }
}
