//! Site search: one index per language, made by the build from the text it rendered (titles,
//! headings, descriptions, tags, bodies), never by reading its own HTML again; written as
//! fingerprinted chunks a small client script (`search/client.js`) fetches as a query needs them.
//!
//! In: the documents of one language ([`Doc`]). Out: files under `_search/LANG/` (a manifest,
//! term chunks, document chunks), every name carrying the hash of its bytes. A query fetches the
//! manifest, the term chunks its words fall in, and the document chunks of the results it shows.
//! Must never index what a visitor may not see (drafts, withheld pages, pages that opt out): the
//! caller passes only what is published.
//!
//! Words are folded (lower case, Latin accents off: `crème` → `creme`) and lightly stemmed for
//! French and English (plural and common endings off); the client folds and stems the query the
//! same way and matches each word as a prefix, so `boulang` finds `boulangerie`.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::RandomState;

use serde::Serialize;

/// The folder of the index files in the output.
pub const DIR: &str = "_search";
/// The client script, as shipped.
pub const CLIENT: &str = include_str!("client.js");
/// Most documents a term keeps (its best ones): a word on every page is no help to a query, and
/// the cap bounds every chunk whatever the site's size.
const MAX_POSTINGS: usize = 2_000;
/// Bytes a term chunk aims at (a query fetches one or two per word).
const CHUNK_BYTES: usize = 24_000;
/// Documents per document chunk.
const DOCS_PER_CHUNK: usize = 16;
/// Characters of a document's text kept for its excerpt.
const EXCERPT_CHARS: usize = 400;

/// One page, as the index sees it.
#[derive(Debug, Clone, Default)]
pub struct Doc {
    /// Its permalink.
    pub url: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// Its headings.
    pub headings: Vec<String>,
    /// Its tags (every taxonomy's terms).
    pub tags: Vec<String>,
    /// Its text (the body, tags taken out); once counted, only its excerpt is kept.
    pub text: String,
}

/// The index of one language.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Site path → bytes of every file.
    pub files: Vec<(String, Vec<u8>)>,
    /// The site path of the manifest (what a search page names).
    pub manifest: String,
    /// Documents indexed.
    pub docs: usize,
}

/// Lower case, Latin accents off, ligatures spelled out. The client does exactly the same.
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    fold_into(word, &mut out);
    out
}

/// [`fold`] into `out` (cleared first).
fn fold_into(word: &str, out: &mut String) {
    out.clear();
    if word.is_ascii() {
        out.push_str(word);
        out.make_ascii_lowercase();
        return;
    }
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => out.push('a'),
            'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => out.push('c'),
            'ď' | 'đ' | 'ð' => out.push('d'),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => out.push('e'),
            'ĝ' | 'ğ' | 'ġ' | 'ģ' => out.push('g'),
            'ĥ' | 'ħ' => out.push('h'),
            'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => out.push('i'),
            'ĵ' => out.push('j'),
            'ķ' => out.push('k'),
            'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => out.push('l'),
            'ñ' | 'ń' | 'ņ' | 'ň' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => out.push('o'),
            'ŕ' | 'ŗ' | 'ř' => out.push('r'),
            'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => out.push('s'),
            'ţ' | 'ť' | 'ŧ' | 'ț' => out.push('t'),
            'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => out.push('u'),
            'ŵ' => out.push('w'),
            'ý' | 'ÿ' | 'ŷ' => out.push('y'),
            'ź' | 'ż' | 'ž' => out.push('z'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            'þ' => out.push_str("th"),
            c => out.push(c),
        }
    }
}

/// The light stem of a folded word in `lang` (French and English; other languages as they are):
/// plural and a few common endings off, so that the forms of a word share a prefix. The client
/// does exactly the same.
pub fn stem<'a>(word: &'a str, lang: &str) -> std::borrow::Cow<'a, str> {
    stem_with(word, Stemmer::of(lang))
}

/// How the words of a language are stemmed.
#[derive(Clone, Copy)]
enum Stemmer {
    French,
    English,
    None,
}

impl Stemmer {
    fn of(lang: &str) -> Stemmer {
        match lang.split(['-', '_']).next().unwrap_or("") {
            "fr" => Stemmer::French,
            "en" => Stemmer::English,
            _ => Stemmer::None,
        }
    }
}

/// [`stem`] with the language's stemmer already chosen.
fn stem_with<'s>(word: &'s str, stemmer: Stemmer) -> std::borrow::Cow<'s, str> {
    match stem_parts(word, stemmer, false) {
        (base, "") => std::borrow::Cow::Borrowed(base),
        (base, end) => std::borrow::Cow::Owned(format!("{base}{end}")),
    }
}

/// Whether `w` ends with `end` (bytes compared in line: the words are short).
fn ends(w: &[u8], end: &[u8]) -> bool {
    w.len() >= end.len() && w[w.len() - end.len()..].iter().zip(end).all(|(a, b)| a == b)
}

/// The stem of `word` as a part of it and an ending to add (`bakeries` → `baker` + `y`).
/// `ascii`: the word is known to be ASCII (else it is looked at).
fn stem_parts(word: &str, stemmer: Stemmer, ascii: bool) -> (&str, &'static str) {
    let b = word.as_bytes();
    let n = if ascii || word.is_ascii() { word.len() } else { word.chars().count() };
    // Plural and final `e` off (counted in characters, cut at ASCII letters: always a boundary).
    let light = |plural: &[u8], keep_ss: bool| {
        let mut len = b.len();
        let last = b.last().copied().unwrap_or(0);
        if n > 3 && plural.contains(&last) && !(keep_ss && ends(b, b"ss")) {
            len -= 1;
            if n - 1 > 3 && b[len - 1] == b'e' {
                len -= 1;
            }
        } else if n > 3 && last == b'e' {
            len -= 1;
        }
        &word[..len]
    };
    match stemmer {
        Stemmer::French => (light(b"sx", false), ""),
        Stemmer::English => {
            if n > 4 && ends(b, b"ies") {
                return (&word[..word.len() - 3], "y");
            }
            if n > 5 && ends(b, b"ing") {
                return (&word[..word.len() - 3], "");
            }
            if n > 4 && ends(b, b"ed") {
                return (&word[..word.len() - 2], "");
            }
            (light(b"s", true), "")
        }
        Stemmer::None => (word, ""),
    }
}

/// The words of `text`, folded and stemmed (single letters but digits left out).
pub fn words(text: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    each_word(text, lang, |w| out.push(w.to_string()));
    out
}

/// Calls `f` with each word of `text`, folded and stemmed, from one buffer. Words are runs of
/// letters and digits; single characters other than digits are left out, and so are words over
/// 40 bytes once folded and stemmed.
fn each_word(text: &str, lang: &str, f: impl FnMut(&str)) {
    each_word_in(text, lang, false, f);
}

/// [`each_word`] of text as it is, or, with `html`, of an HTML fragment read as it is: tags
/// skipped (and `script`, `style`, `template` whole), the common entities taken as the
/// separators they stand for. Either way, the words are those of the text [`text_of`] gives.
fn each_word_in(text: &str, lang: &str, html: bool, mut f: impl FnMut(&str)) {
    let stemmer = Stemmer::of(lang);
    let (mut buf, mut grown) = (String::new(), String::new());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        // A run of letters and digits, counted in characters; `plain` while it is ASCII lower
        // case or digits (folded already: no copy).
        let (mut chars, mut plain) = (0usize, true);
        while i < b.len() {
            let c = b[i];
            if c < 0x80 {
                if !c.is_ascii_alphanumeric() {
                    break;
                }
                plain &= !c.is_ascii_uppercase();
                i += 1;
            } else {
                match text[i..].chars().next() {
                    Some(ch) if ch.is_alphanumeric() => i += ch.len_utf8(),
                    _ => break,
                }
                plain = false;
            }
            chars += 1;
        }
        if i == start {
            // A separator: a character, a whole entity, a whole tag.
            i += match b[i] {
                b'<' if html => skip_tag(text, i) - i,
                b'&' if html => entity(&text[i..]).map_or(1, |e| e.0),
                c if c < 0x80 => 1,
                _ => text[i..].chars().next().map_or(1, char::len_utf8),
            };
            continue;
        }
        let w = &text[start..i];
        if chars == 1 && !w.chars().any(char::is_numeric) {
            continue;
        }
        let folded = if plain {
            w
        } else {
            fold_into(w, &mut buf);
            &buf
        };
        let stemmed = match stem_parts(folded, stemmer, plain) {
            (base, "") => base,
            (base, end) => {
                grown.clear();
                grown.push_str(base);
                grown.push_str(end);
                &grown
            }
        };
        if !stemmed.is_empty() && stemmed.len() <= 40 {
            f(stemmed);
        }
    }
}

/// The elements whose content is not text.
const RAW_TEXT: [&str; 3] = ["script", "style", "template"];

/// The name of the tag `tag` (`<h2 id=a>`, `</p>`): its letters and digits after `<` and `/`.
fn tag_name(tag: &str) -> &str {
    let name = tag.trim_start_matches(['<', '/']);
    &name[..name.bytes().take_while(u8::is_ascii_alphanumeric).count()]
}

/// Where the tag at `i` of `s` ends (after its `>`), or, for the start of a `script`, `style`
/// or `template`, where the end tag of that element ends.
fn skip_tag(s: &str, i: usize) -> usize {
    let b = s.as_bytes();
    let end_of = |at: usize| memchr::memchr(b'>', &b[at..]).map_or(b.len(), |j| at + j + 1);
    let end = end_of(i);
    let tag = &s[i..end];
    if tag.starts_with("</") {
        return end;
    }
    let name = tag_name(tag);
    let Some(raw) = RAW_TEXT.into_iter().find(|r| r.len() == name.len() && name.eq_ignore_ascii_case(r)) else {
        return end;
    };
    let mut at = end;
    while let Some(j) = memchr::memchr(b'<', &b[at..]) {
        let t = at + j;
        let t_end = end_of(t);
        let tag = &s[t..t_end];
        if tag.starts_with("</") && tag_name(tag).eq_ignore_ascii_case(raw) {
            return t_end;
        }
        at = t_end;
    }
    b.len()
}

/// The entity at the start of `s` among the common ones, with its length.
fn entity(s: &str) -> Option<(usize, char)> {
    const ENTITIES: [(&str, char); 7] = [
        ("&nbsp;", ' '),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&#39;", '\''),
        ("&#x27;", '\''),
        ("&amp;", '&'),
    ];
    ENTITIES.iter().find(|(e, _)| s.starts_with(e)).map(|(e, c)| (e.len(), *c))
}

/// Appends the text `seg` (no tags in it) to `out`: the common entities decoded, runs of white
/// space made one space (`space`: whether `out` ends with one, or is at its start).
fn push_text(seg: &str, out: &mut String, space: &mut bool) {
    let b = seg.as_bytes();
    let (mut start, mut i) = (0, 0);
    let put = |c: char, out: &mut String, space: &mut bool| {
        if c.is_whitespace() {
            if !*space {
                out.push(' ');
            }
            *space = true;
        } else {
            out.push(c);
            *space = false;
        }
    };
    while i < b.len() {
        let c = b[i];
        if c >= 0x80 {
            // Other characters are copied with their run, white space is collapsed.
            let ch = seg[i..].chars().next().unwrap_or('a');
            if !ch.is_whitespace() {
                i += ch.len_utf8();
                continue;
            }
        } else if !(c.is_ascii_whitespace() || c == b'&' || c == 0x0b) {
            i += 1;
            continue;
        }
        if start < i {
            out.push_str(&seg[start..i]);
            *space = false;
        }
        if c == b'&' {
            let (n, ch) = entity(&seg[i..]).unwrap_or((1, '&'));
            put(ch, out, space);
            i += n;
        } else {
            let ch = seg[i..].chars().next().unwrap_or(' ');
            put(ch, out, space);
            i += ch.len_utf8();
        }
        start = i;
    }
    if start < b.len() {
        out.push_str(&seg[start..]);
        *space = false;
    }
}

/// Calls `f` with each run of text of an HTML fragment, between its tags, outside `script`,
/// `style` and `template`; entities left as they are. A tag separates words. Stops when `f`
/// says so (returns `false`).
fn each_text(html: &str, mut f: impl FnMut(&str) -> bool) {
    let mut i = 0;
    while i < html.len() {
        let next = memchr::memchr(b'<', &html.as_bytes()[i..]).map_or(html.len(), |j| i + j);
        if next > i && !f(&html[i..next]) {
            return;
        }
        if next == html.len() {
            break;
        }
        i = skip_tag(html, next);
    }
}

/// The text of an HTML fragment: tags out, the common entities decoded, spaces collapsed.
pub fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut space = true;
    each_text(html, |seg| {
        push_text(seg, &mut out, &mut space);
        // Block ends and line breaks separate words.
        if !space {
            out.push(' ');
            space = true;
        }
        true
    });
    out.truncate(out.trim_end().len());
    out
}

/// A document's count of each term in each field, and each field's length in words.
type Counts = (Vec<(Arc<str>, [u16; 5])>, [usize; 5]);

/// The words a worker thread has met, each spelled once: a document's words are counted
/// against it with one lookup a word and no allocation but for a new word.
struct Vocabulary {
    /// Words of up to 16 bytes, by their bytes (no word holds a zero byte: the padding is
    /// unambiguous), compared as one number; the longer ones by their text.
    short: HashMap<u128, Slot, RandomState>,
    long: HashMap<Box<str>, Slot, RandomState>,
    /// The document being counted (a stamp: a slot counted for another one starts again).
    doc: u32,
}

impl Vocabulary {
    /// The slot of `w`, made on its first use.
    fn slot(&mut self, w: &str) -> &mut Slot {
        let new = |w: &str| Slot { term: w.into(), doc: 0, at: 0 };
        if w.len() <= 16 {
            // The bytes as a number, read in line (the words are short).
            let b = w.as_bytes();
            let part = |s: &[u8]| s.iter().enumerate().fold(0u64, |x, (i, &c)| x | u64::from(c) << (8 * i));
            let (lo, hi) = if b.len() > 8 { (part(&b[..8]), part(&b[8..])) } else { (part(b), 0) };
            self.short.entry(u128::from(lo) | u128::from(hi) << 64).or_insert_with(|| new(w))
        } else {
            if !self.long.contains_key(w) {
                self.long.insert(w.into(), new(w));
            }
            self.long.get_mut(w).expect("just inserted")
        }
    }
}

struct Slot {
    term: Arc<str>,
    /// The last document that counted it, and where its counts are in that document's list.
    doc: u32,
    at: u32,
}

/// Words a thread keeps before it starts a new vocabulary (a platform run meets every
/// partner's words; what a document holds stays valid, it holds its own `Arc`s).
const MAX_VOCABULARY: usize = 500_000;

thread_local! {
    static VOCABULARY: std::cell::RefCell<Vocabulary> =
        std::cell::RefCell::new(Vocabulary { short: HashMap::default(), long: HashMap::default(), doc: 0 });
}

/// Field weights: a word of the title counts eight times a word of the body.
const FIELDS: [(f32, usize); 5] = [(8.0, 0), (3.0, 1), (2.0, 2), (3.0, 3), (1.0, 4)];
/// Most documents a term keeps because it is in their title, beyond [`MAX_POSTINGS`].
const MAX_TITLE_POSTINGS: usize = 20_000;

fn short_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex()[..10].to_string()
}

#[derive(Serialize)]
struct Chunk<'a> {
    /// The terms, sorted.
    t: Vec<&'a str>,
    /// Each term's postings: document ids (the first, then the gaps) and weights, interleaved.
    p: Vec<&'a [u32]>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    v: u32,
    lang: &'a str,
    /// Documents.
    n: usize,
    /// Documents per document chunk.
    per: usize,
    /// Each term chunk: its first term and the hash in its name (`t.HASH.bin`).
    chunks: Vec<(String, String)>,
    /// The hashes in the document chunks' names (`d.HASH.bin`), 10 characters each, in order.
    docs: String,
}

/// `bytes` gzipped: what is written (a host serves it as it is; the client unzips it with the
/// browser's `DecompressionStream`, or reads it as it is when the host unzipped it already).
fn gz(bytes: &[u8]) -> Vec<u8> {
    thread_local! {
        // One compressor a thread, reset for each file: a new one is some 300 KB to allocate
        // and clear, and a build writes hundreds of these files.
        static DEFLATE: std::cell::RefCell<flate2::Compress> =
            std::cell::RefCell::new(flate2::Compress::new(flate2::Compression::fast(), false));
    }
    // The gzip header as flate2's `GzEncoder` writes it (no name, time 0, fast, OS unknown).
    let mut out = Vec::with_capacity(bytes.len() / 3 + 64);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255]);
    DEFLATE.with_borrow_mut(|z| {
        z.reset();
        loop {
            out.reserve(bytes.len() / 4 + 1024);
            let done = z.total_in() as usize;
            match z.compress_vec(&bytes[done..], &mut out, flate2::FlushCompress::Finish) {
                Ok(flate2::Status::StreamEnd) => break,
                Ok(_) => {}
                Err(_) => {
                    out.clear();
                    return;
                }
            }
        }
    });
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

/// A document with its words counted: what `serve` keeps from one build to the next, so that
/// an edit counts the words of the pages it changed only.
#[derive(Debug)]
pub struct Counted {
    /// The document.
    pub doc: Doc,
    counts: Counts,
}

impl Counted {
    /// Counts the words of `doc` in `lang`.
    pub fn new(mut doc: Doc, lang: &str) -> Counted {
        let counts = count_one(&doc, None, lang);
        // Only the excerpt is kept of the text once its words are counted.
        if let Some((i, _)) = doc.text.char_indices().nth(EXCERPT_CHARS) {
            doc.text.truncate(i);
        }
        Counted { doc, counts }
    }

    /// Counts the words of `doc` in `lang`, its body being the HTML fragment `html` (what the
    /// build has): the same as [`Counted::new`] with `doc.text` = [`text_of`]`(html)`, in one
    /// pass over `html`; `doc.text` is set to the excerpt.
    pub fn from_html(mut doc: Doc, html: &str, lang: &str) -> Counted {
        let counts = count_one(&doc, Some(html), lang);
        doc.text = excerpt_of(html);
        Counted { doc, counts }
    }
}

/// A document's count of each term in each field, and each field's length in words; the body
/// is `d.text`, or `html` when given (read as it is, its text never made).
fn count_one(d: &Doc, html: Option<&str>, lang: &str) -> Counts {
    VOCABULARY.with_borrow_mut(|v| {
        if v.short.len() + v.long.len() > MAX_VOCABULARY || v.doc == u32::MAX {
            v.short.clear();
            v.long.clear();
            v.doc = 0;
        }
        v.doc += 1;
        let stamp = v.doc;
        // About one distinct word in 40 bytes of HTML.
        let mut tf: Vec<(Arc<str>, [u16; 5])> = Vec::with_capacity(html.map_or(64, |h| h.len() / 40 + 16));
        let mut len = [0usize; 5];
        let mut add = |w: &str, f: usize| {
            let slot = v.slot(w);
            if slot.doc != stamp {
                slot.doc = stamp;
                slot.at = tf.len() as u32;
                tf.push((slot.term.clone(), [0; 5]));
            }
            let e = &mut tf[slot.at as usize].1;
            e[f] = e[f].saturating_add(1);
            len[f] += 1;
        };
        let (headings, tags) = (d.headings.join(" "), d.tags.join(" "));
        for (f, text) in [&d.title, &headings, &d.description, &tags].into_iter().enumerate() {
            each_word(text, lang, |w| add(w, f));
        }
        match html {
            Some(html) => each_word_in(html, lang, true, |w| add(w, 4)),
            None => each_word(&d.text, lang, |w| add(w, 4)),
        }
        (tf, len)
    })
}

/// The excerpt of an HTML fragment: the first [`EXCERPT_CHARS`] characters of [`text_of`],
/// without reading further than they need.
fn excerpt_of(html: &str) -> String {
    let mut out = String::with_capacity(EXCERPT_CHARS + 8);
    let mut space = true;
    each_text(html, |seg| {
        push_text(seg, &mut out, &mut space);
        if !space {
            out.push(' ');
            space = true;
        }
        // Enough characters (a character is at most 4 bytes): the rest is not read.
        out.len() < EXCERPT_CHARS * 4 + 8
    });
    out.truncate(out.trim_end().len());
    if let Some((i, _)) = out.char_indices().nth(EXCERPT_CHARS) {
        out.truncate(i);
    }
    out
}

/// Every term's postings (document, weight), the best [`MAX_POSTINGS`] kept, by document.
fn postings<'a>(per_doc: &[&'a Counts]) -> Vec<(&'a str, Vec<(u32, u32)>)> {
    let n = per_doc.len().max(1) as f32;
    let mut avg = [0f32; 5];
    for (_, len) in per_doc {
        for f in 0..5 {
            avg[f] += len[f] as f32 / n;
        }
    }
    // BM25's saturation and length normalisation, per field, summed with the field weights.
    let (k1, b) = (1.2f32, 0.75f32);
    type Lists<'a> = HashMap<&'a str, Vec<(u32, u32, bool)>, RandomState>;
    use rayon::prelude::*;
    // Each worker gathers the postings of a run of documents; runs are joined in order.
    let all: Lists = per_doc
        .par_iter()
        .enumerate()
        .fold(Lists::default, |mut all, (id, (tf, len))| {
            for (term, counts) in tf {
                let mut score = 0f32;
                for (weight, f) in FIELDS {
                    let c = f32::from(counts[f]);
                    if c > 0.0 {
                        let norm = if avg[f] > 0.0 { len[f] as f32 / avg[f] } else { 1.0 };
                        score += weight * c * (k1 + 1.0) / (c + k1 * (1.0 - b + b * norm));
                    }
                }
                let w = (score * 10.0).round().max(1.0) as u32;
                all.entry(&**term).or_default().push((id as u32, w, counts[0] > 0));
            }
            all
        })
        .reduce(Lists::default, |mut left, right| {
            if left.is_empty() {
                return right;
            }
            for (term, mut list) in right {
                left.entry(term).or_default().append(&mut list);
            }
            left
        });
    let mut out: Vec<(&str, Vec<(u32, u32)>)> = all
        .into_par_iter()
        .map(|(term, mut list)| {
            if !list.is_sorted_by_key(|p| p.0) {
                list.sort_by_key(|p| p.0);
            }
            if list.len() > MAX_POSTINGS {
                // The best documents, and every one with the word in its title (up to a bound):
                // a query made of a page's title finds that page.
                // The best `keep` chosen without sorting them all.
                let titles = list.iter().filter(|p| p.2).count().min(MAX_TITLE_POSTINGS);
                let keep = MAX_POSTINGS.max(titles);
                if keep < list.len() {
                    list.select_nth_unstable_by(keep, |a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
                    list.truncate(keep);
                }
                list.sort_unstable_by_key(|p| p.0);
            }
            (term, list.into_iter().map(|(d, w, _)| (d, w)).collect())
        })
        .collect();
    out.par_sort_unstable_by(|a, b| a.0.cmp(b.0));
    out
}

/// Builds the index of `docs` in `lang`, its files under `_search/LANG/`.
pub fn build(lang: &str, docs: &[Doc]) -> Index {
    use rayon::prelude::*;
    let counts: Vec<Counts> = docs.par_iter().map(|d| count_one(d, None, lang)).collect();
    assemble(lang, &docs.iter().collect::<Vec<_>>(), &counts.iter().collect::<Vec<_>>())
}

/// [`build`] from documents already counted.
pub fn build_counted(lang: &str, docs: &[std::sync::Arc<Counted>]) -> Index {
    let (d, c): (Vec<&Doc>, Vec<&Counts>) = docs.iter().map(|x| (&x.doc, &x.counts)).unzip();
    assemble(lang, &d, &c)
}

fn assemble(lang: &str, docs: &[&Doc], per_doc: &[&Counts]) -> Index {
    use rayon::prelude::*;
    let dir = format!("{DIR}/{lang}");
    let terms = postings(per_doc);
    // Term chunks cut at about CHUNK_BYTES of JSON, in term order.
    let mut groups: Vec<Vec<(&str, Vec<u32>)>> = Vec::new();
    let mut current: Vec<(&str, Vec<u32>)> = Vec::new();
    let mut size = 0usize;
    for (term, list) in &terms {
        let mut flat = Vec::with_capacity(list.len() * 2);
        let mut last = 0u32;
        for (i, (id, w)) in list.iter().enumerate() {
            flat.push(if i == 0 { *id } else { id - last });
            flat.push(*w);
            last = *id;
        }
        size += term.len() + flat.len() * 4 + 8;
        current.push((term, flat));
        if size >= CHUNK_BYTES {
            groups.push(std::mem::take(&mut current));
            size = 0;
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    let chunk_files: Vec<(String, String, Vec<u8>)> = groups
        .par_iter()
        .map(|g| {
            let chunk =
                Chunk { t: g.iter().map(|(t, _)| *t).collect(), p: g.iter().map(|(_, p)| p.as_slice()).collect() };
            let bytes = gz(&serde_json::to_vec(&chunk).unwrap_or_default());
            (g[0].0.to_string(), short_hash(&bytes), bytes)
        })
        .collect();
    let doc_files: Vec<(String, Vec<u8>)> = docs
        .par_chunks(DOCS_PER_CHUNK)
        .map(|group| {
            let rows: Vec<[String; 3]> = group
                .iter()
                .map(|d| {
                    let mut x = if d.text.len() <= EXCERPT_CHARS {
                        d.text.clone()
                    } else {
                        d.text.chars().take(EXCERPT_CHARS).collect()
                    };
                    if x.is_empty() {
                        x = d.description.clone();
                    }
                    [d.url.clone(), d.title.clone(), x]
                })
                .collect();
            let bytes = gz(&serde_json::to_vec(&rows).unwrap_or_default());
            (short_hash(&bytes), bytes)
        })
        .collect();
    let manifest = Manifest {
        v: 2,
        lang,
        n: docs.len(),
        per: DOCS_PER_CHUNK,
        chunks: chunk_files.iter().map(|(first, h, _)| (first.clone(), h.clone())).collect(),
        docs: doc_files.iter().map(|(h, _)| h.as_str()).collect(),
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::with_capacity(chunk_files.len() + doc_files.len() + 1);
    files.extend(chunk_files.into_iter().map(|(_, h, b)| (format!("{dir}/t.{h}.bin"), b)));
    files.extend(doc_files.into_iter().map(|(h, b)| (format!("{dir}/d.{h}.bin"), b)));
    let bytes = gz(&serde_json::to_vec(&manifest).unwrap_or_default());
    let path = format!("{dir}/i.{}.bin", short_hash(&bytes));
    files.push((path.clone(), bytes));
    Index { files, manifest: path, docs: docs.len() }
}

/// The client script's site path (fingerprinted) and bytes.
pub fn client() -> (String, Vec<u8>) {
    let bytes = CLIENT.as_bytes().to_vec();
    (format!("{DIR}/search.{}.js", short_hash(&bytes)), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fold_accents_and_share_stems() {
        assert_eq!(fold("Crème BRÛLÉE œuf"), "creme brulee oeuf");
        let fr: Vec<String> = words("Les crèmes, la crème et l'atelier", "fr");
        assert_eq!(fr, ["les", "crem", "la", "crem", "et", "atelier"]);
        let en: Vec<String> = words("Baking bakeries baked bake", "en");
        assert_eq!(en, ["bak", "bakery", "bak", "bak"]);
        assert_eq!(stem("boulangeries", "fr"), "boulangeri");
        assert!(stem("boulangeries", "fr").starts_with(&*stem("boulangerie", "fr")));
        assert_eq!(stem("straße", "de"), "straße", "other languages are not stemmed");
        assert_eq!(words("À l'été: 2 x 42, Ωμέγα—日本", "fr"), ["ete", "2", "42", "ωμέγα", "日本"]);
    }

    #[test]
    fn text_leaves_tags_scripts_and_entities_out() {
        let t =
            text_of("<h2 id=\"a\">Caf&eacute; &amp; pain</h2><p>Hot<br>bread<script>var x=\"<p>\";</script> fresh</p>");
        assert_eq!(t, "Caf&eacute; & pain Hot bread fresh");
        let t = text_of("a\u{a0}\u{a0}b \t é<SCRIPT>x<p>y</script>ç &amp;lt;\u{2003} <br>");
        assert_eq!(t, "a b é ç &lt;", "Unicode spaces collapse, raw text elements in any case are skipped");
        assert_eq!(text_of("<p>unclosed <b"), "unclosed");
    }

    #[test]
    fn gz_is_what_gzencoder_writes_and_unzips() {
        use std::io::{Read as _, Write as _};
        for input in [Vec::new(), b"abc".to_vec(), (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect()] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&input).unwrap();
            let reference = e.finish().unwrap();
            for _ in 0..2 {
                let ours = gz(&input);
                assert_eq!(ours, reference, "{} bytes", input.len());
                let mut back = Vec::new();
                flate2::read::GzDecoder::new(&ours[..]).read_to_end(&mut back).unwrap();
                assert_eq!(back, input);
            }
        }
    }

    #[test]
    fn counting_from_html_is_counting_its_text() {
        let html =
            "<h2 id=\"a\">Caf&eacute; &amp;lt; pain</h2><p>Hot<br>bread&#39;s<script>var x=\"<p>mot\";</script> \
                    fresh&nbsp;crème<b>s</b>, l&#x27;été&quot;x&quot; 42</p><!-- caché --><template>no</template>"
                .repeat(30);
        let sorted = |c: &Counted| {
            let mut v: Vec<(String, [u16; 5])> = c.counts.0.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            v.sort();
            v
        };
        let tricky = [
            "<STYLE>p{}</style >Texte <TEMPLATE><p>caché</p></Template>Suite <//p>ÉTÉ À 1 a",
            "début <script>if (a < b) { x = '</p>'; }</SCRIPT>fin <script>jamais fermé",
            "Ωμέγα—日本 &amp; 2024 &unknown; <a href=\"x>y\">lien</a> fin&",
        ];
        for html in [html.as_str()].into_iter().chain(tricky) {
            let doc = Doc { title: "Pain".into(), tags: vec!["bread".into()], ..Default::default() };
            let from_text = Counted::new(Doc { text: text_of(html), ..doc.clone() }, "fr");
            let from_html = Counted::from_html(doc, html, "fr");
            assert_eq!(from_html.counts.1, from_text.counts.1, "field lengths of {html}");
            assert_eq!(sorted(&from_html), sorted(&from_text), "{html}");
            assert_eq!(from_html.doc.text, from_text.doc.text, "the same excerpt");
        }
        let doc = Doc { title: "Pain".into(), ..Default::default() };
        let from_html = Counted::from_html(doc, &html, "fr");
        assert_eq!(from_html.doc.text.chars().count(), EXCERPT_CHARS);
        assert!(!sorted(&from_html).iter().any(|(w, _)| w == "mot" || w == "no" || w == "39"));
        let t = Counted::from_html(Doc::default(), tricky[1], "fr");
        assert_eq!(t.doc.text, "début fin", "an unclosed script hides the rest");
    }

    #[test]
    fn the_index_is_chunked_fingerprinted_and_names_every_document() {
        let docs: Vec<Doc> = (0..40)
            .map(|i| Doc {
                url: format!("/p{i}/"),
                title: format!("Page {i} about bread"),
                text: format!("Word{i} and the common words of every page, again and again {}", "filler ".repeat(i)),
                ..Default::default()
            })
            .collect();
        let idx = build("en", &docs);
        assert_eq!(idx.docs, 40);
        let manifest = idx.files.iter().find(|(p, _)| *p == idx.manifest).unwrap();
        let mut json = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&manifest.1[..]), &mut json).unwrap();
        let m: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(m["n"], 40);
        assert_eq!(
            m["docs"].as_str().unwrap().len(),
            40_usize.div_ceil(DOCS_PER_CHUNK) * 10,
            "a hash per document chunk"
        );
        for (path, bytes) in &idx.files {
            assert!(path.contains(&short_hash(bytes)), "{path} is named by its bytes");
            assert!(bytes.len() < 1_000_000);
        }
        // The chunks' first terms are sorted: a client finds a word's chunk by bisection.
        let firsts: Vec<&str> = m["chunks"].as_array().unwrap().iter().map(|c| c[0].as_str().unwrap()).collect();
        assert!(firsts.windows(2).all(|w| w[0] < w[1]), "{firsts:?}");
    }
}
