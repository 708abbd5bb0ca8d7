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

use std::collections::{BTreeMap, HashMap};

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
const DOCS_PER_CHUNK: usize = 8;
/// Characters of a document's text kept for its excerpt.
const EXCERPT_CHARS: usize = 600;

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
    /// Its text (the body, tags taken out).
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
    out
}

/// The light stem of a folded word in `lang` (French and English; other languages as they are):
/// plural and a few common endings off, so that the forms of a word share a prefix. The client
/// does exactly the same.
pub fn stem(word: &str, lang: &str) -> String {
    let n = word.chars().count();
    let cut = |w: &str, suffix: &str| w[..w.len() - suffix.len()].to_string();
    match lang.split(['-', '_']).next().unwrap_or("") {
        "fr" => {
            let mut w = word.to_string();
            if n > 3 && (w.ends_with('s') || w.ends_with('x')) {
                w.pop();
            }
            if w.chars().count() > 3 && w.ends_with('e') {
                w.pop();
            }
            w
        }
        "en" => {
            if n > 4 && word.ends_with("ies") {
                return format!("{}y", cut(word, "ies"));
            }
            for suffix in ["ing", "ed"] {
                if n > suffix.len() + 2 && word.ends_with(suffix) {
                    return cut(word, suffix);
                }
            }
            let mut w = word.to_string();
            if n > 3 && w.ends_with('s') && !w.ends_with("ss") {
                w.pop();
            }
            if w.chars().count() > 3 && w.ends_with('e') {
                w.pop();
            }
            w
        }
        _ => word.to_string(),
    }
}

/// The words of `text`, folded and stemmed (single letters and digits left out).
pub fn words<'a>(text: &'a str, lang: &'a str) -> impl Iterator<Item = String> + 'a {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 1 || w.chars().any(char::is_numeric))
        .map(move |w| stem(&fold(w), lang))
        .filter(|w| !w.is_empty() && w.len() <= 40)
}

/// The text of an HTML fragment: tags out, the common entities decoded, spaces collapsed.
pub fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skip: Option<&str> = None;
    while let Some(i) = rest.find('<') {
        if skip.is_none() {
            out.push_str(&rest[..i]);
        }
        let tag_end = rest[i..].find('>').map_or(rest.len(), |j| i + j + 1);
        let tag = &rest[i..tag_end];
        let name: String = tag
            .trim_start_matches(['<', '/'])
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match (skip, tag.starts_with("</")) {
            (None, false) if name == "script" || name == "style" || name == "template" => {
                skip = Some(if name == "script" {
                    "script"
                } else if name == "style" {
                    "style"
                } else {
                    "template"
                });
            }
            (Some(s), true) if name == s => skip = None,
            _ => {}
        }
        // Block ends and line breaks separate words.
        out.push(' ');
        rest = &rest[tag_end..];
    }
    if skip.is_none() {
        out.push_str(rest);
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A document's count of each term in each field, and each field's length in words.
type Counts = (HashMap<String, [u16; 5]>, [usize; 5]);

/// Field weights: a word of the title counts five times a word of the body.
const FIELDS: [(f32, usize); 5] = [(5.0, 0), (3.0, 1), (2.0, 2), (3.0, 3), (1.0, 4)];

fn short_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex()[..10].to_string()
}

#[derive(Serialize)]
struct Chunk<'a> {
    /// The terms, sorted.
    t: Vec<&'a str>,
    /// Each term's postings: document ids (the first, then the gaps) and weights, interleaved.
    p: Vec<Vec<u32>>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    v: u32,
    lang: &'a str,
    /// Documents.
    n: usize,
    /// Documents per document chunk.
    per: usize,
    /// Each term chunk: its first term and its file (site path).
    chunks: Vec<(String, String)>,
    /// Each document chunk's file.
    docs: Vec<String>,
}

/// Builds the index of `docs` in `lang`, its files under `prefix` (`_search/fr/`).
pub fn build(lang: &str, docs: &[Doc]) -> Index {
    let dir = format!("{DIR}/{lang}");
    // Per document and field, the count of each term, and the field's length.
    let per_doc: Vec<Counts> = {
        use rayon::prelude::*;
        docs.par_iter()
            .map(|d| {
                let mut tf: HashMap<String, [u16; 5]> = HashMap::new();
                let mut len = [0usize; 5];
                let fields: [&str; 5] = [&d.title, &d.headings.join(" "), &d.description, &d.tags.join(" "), &d.text];
                for (f, text) in fields.iter().enumerate() {
                    for w in words(text, lang) {
                        let e = tf.entry(w).or_insert([0; 5]);
                        e[f] = e[f].saturating_add(1);
                        len[f] += 1;
                    }
                }
                (tf, len)
            })
            .collect()
    };
    let n = docs.len().max(1) as f32;
    let mut avg = [0f32; 5];
    for (_, len) in &per_doc {
        for f in 0..5 {
            avg[f] += len[f] as f32 / n;
        }
    }
    // BM25's saturation and length normalisation, per field, summed with the field weights.
    let (k1, b) = (1.2f32, 0.75f32);
    let mut postings: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
    for (id, (tf, len)) in per_doc.iter().enumerate() {
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
            postings.entry(term.clone()).or_default().push((id as u32, w));
        }
    }
    let mut files = Vec::new();
    let mut chunks = Vec::new();
    let mut current: Vec<(&str, Vec<u32>)> = Vec::new();
    let mut size = 0usize;
    let mut flush = |current: &mut Vec<(&str, Vec<u32>)>, files: &mut Vec<(String, Vec<u8>)>| {
        if current.is_empty() {
            return;
        }
        let first = current[0].0.to_string();
        let chunk =
            Chunk { t: current.iter().map(|(t, _)| *t).collect(), p: current.drain(..).map(|(_, p)| p).collect() };
        let bytes = serde_json::to_vec(&chunk).unwrap_or_default();
        let path = format!("{dir}/t.{}.json", short_hash(&bytes));
        chunks.push((first, path.clone()));
        files.push((path, bytes));
    };
    for (term, mut list) in postings.iter().map(|(t, l)| (t.as_str(), l.clone())) {
        if list.len() > MAX_POSTINGS {
            list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            list.truncate(MAX_POSTINGS);
        }
        list.sort_by_key(|p| p.0);
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
            flush(&mut current, &mut files);
            size = 0;
        }
    }
    flush(&mut current, &mut files);
    let mut doc_files = Vec::new();
    for group in docs.chunks(DOCS_PER_CHUNK) {
        let rows: Vec<[String; 3]> = group
            .iter()
            .map(|d| {
                let mut x: String = d.text.chars().take(EXCERPT_CHARS).collect();
                if x.is_empty() {
                    x = d.description.clone();
                }
                [d.url.clone(), d.title.clone(), x]
            })
            .collect();
        let bytes = serde_json::to_vec(&rows).unwrap_or_default();
        let path = format!("{dir}/d.{}.json", short_hash(&bytes));
        doc_files.push(path.clone());
        files.push((path, bytes));
    }
    let manifest = Manifest { v: 1, lang, n: docs.len(), per: DOCS_PER_CHUNK, chunks: chunks.clone(), docs: doc_files };
    let bytes = serde_json::to_vec(&manifest).unwrap_or_default();
    let path = format!("{dir}/i.{}.json", short_hash(&bytes));
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
        let fr: Vec<String> = words("Les crèmes, la crème et l'atelier", "fr").collect();
        assert_eq!(fr, ["les", "crem", "la", "crem", "et", "atelier"]);
        let en: Vec<String> = words("Baking bakeries baked bake", "en").collect();
        assert_eq!(en, ["bak", "bakery", "bak", "bak"]);
        assert_eq!(stem("boulangeries", "fr"), "boulangeri");
        assert!(stem("boulangeries", "fr").starts_with(&stem("boulangerie", "fr")));
        assert_eq!(stem("straße", "de"), "straße", "other languages are not stemmed");
    }

    #[test]
    fn text_leaves_tags_scripts_and_entities_out() {
        let t =
            text_of("<h2 id=\"a\">Caf&eacute; &amp; pain</h2><p>Hot<br>bread<script>var x=\"<p>\";</script> fresh</p>");
        assert_eq!(t, "Caf&eacute; & pain Hot bread fresh");
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
        let m: serde_json::Value = serde_json::from_slice(&manifest.1).unwrap();
        assert_eq!(m["n"], 40);
        assert_eq!(m["docs"].as_array().unwrap().len(), 5);
        for (path, bytes) in &idx.files {
            assert!(path.contains(&short_hash(bytes)), "{path} is named by its bytes");
            assert!(bytes.len() < 1_000_000);
        }
        // The chunks' first terms are sorted: a client finds a word's chunk by bisection.
        let firsts: Vec<&str> = m["chunks"].as_array().unwrap().iter().map(|c| c[0].as_str().unwrap()).collect();
        assert!(firsts.windows(2).all(|w| w[0] < w[1]), "{firsts:?}");
    }
}
