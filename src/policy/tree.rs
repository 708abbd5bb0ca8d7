//! Where the platform elements land in a page as a browser builds it. The page goes through a
//! spec-compliant HTML5 tree builder (html5ever) into a skeleton that keeps, for every element,
//! its parent, namespace, line, and whether it hides what it holds; the verdict says whether each
//! platform element (block, badge, notice, script, age gate) is a real HTML element in `<body>`,
//! under nothing that hides it or takes it out of the page, and when not, what took it and where
//! that starts.
//!
//! A tokenizer alone (lol_html, used to inject) cannot tell: whether `</body>` ends the body
//! depends on what is open before it (a `<select>`, a `<template>`, an `<svg>`, a comment, a
//! `<textarea>` …), and the tree builder's rules (foster parenting, the adoption agency,
//! integration points) decide where an element goes. Only pages the certain fast path
//! (`compliance::append_if_certain`) cannot vouch for come here.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};

use html5ever::interface::{ElemName, ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{ns, Attribute, LocalName, Namespace, ParseOpts, QualName};

/// What keeps a platform element out of the rendered page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A comment left open: what follows is its text.
    Comment,
    /// An element whose content is text left open (`<script>`, `<style>`, `<textarea>`,
    /// `<title>`, `<noscript>`, `<iframe>`, `<xmp>`, `<plaintext>` …): what follows is its text.
    RawText,
    /// A `<template>` left open: what follows is inert template content, not in the page.
    Template,
    /// SVG or MathML left open: what follows is not HTML (or sits inside a drawing).
    Foreign,
    /// A tag left unfinished (an open attribute value …): what follows is in its attributes.
    Tag,
    /// An HTML element left open that hides what it holds or takes its clicks (`<select>`,
    /// `<details>`, `<dialog>`, `<video>`, `<button>`, a `hidden` element …): closing it
    /// before the block puts the block back in `<body>`.
    Hiding,
    /// `<html>` or `<body>` hide the page.
    Root,
    /// The parser dropped it (a `<frameset>` page, or markup that takes no such element).
    Dropped,
}

/// Why a platform element is not in the rendered page, and where that starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Culprit {
    /// What took it.
    pub cause: Cause,
    /// The element at fault (`select`, `svg` …), `comment`, or empty when not known.
    pub name: String,
    /// 1-based line in the page where it starts, when known.
    pub line: Option<u64>,
}

impl std::fmt::Display for Culprit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = &self.name;
        match self.cause {
            Cause::Comment => write!(f, "a comment (<!--) left open swallows it"),
            Cause::RawText => write!(f, "<{n}> left open makes it the text of that element"),
            Cause::Template => write!(f, "a <template> left open makes it inert template content"),
            Cause::Foreign => write!(f, "<{n}> left open puts it in SVG or MathML"),
            Cause::Tag => write!(f, "an unfinished <{n}> tag (an attribute value left open) swallows it"),
            Cause::Hiding => write!(f, "<{n}> left open holds it, hidden or unclickable"),
            Cause::Root => write!(f, "<{n}> hides the page"),
            Cause::Dropped => {
                write!(f, "the browser drops it (a <frameset> page, or markup that takes no such element)")
            }
        }
    }
}

/// Where the platform elements of a page end up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Every platform element is a real HTML element in `<body>` that nothing hides.
    Sound,
    /// The block is inside HTML elements left open, one of which hides it or takes its clicks:
    /// `close` (innermost first) are the elements to end, before the block, to put it in `<body>`.
    Enclosed {
        /// Element names, innermost first.
        close: Vec<String>,
        /// The outermost element that hides it.
        culprit: Culprit,
    },
    /// A platform element is not in the page, or cannot be put back by closing elements.
    Lost(Culprit),
}

/// Elements whose content is text: nothing inside them is markup.
const RAW_TEXT: &[&str] =
    &["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"];

/// HTML elements that hide what they hold (or drop it, or take its clicks) when left open around
/// the block. (An `<option>` outside a `<select>`, a link, a `<picture>` or a `<map>` show what
/// they hold.)
const HIDING: &[&str] = &[
    "select",
    "datalist",
    "details",
    "dialog",
    "audio",
    "video",
    "canvas",
    "object",
    "button",
    "marquee",
    "meter",
    "progress",
    "frameset",
    "selectedcontent",
];

/// A platform element, by its marker attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Block,
    Badge,
    Notice,
    Gate,
    Script,
}

impl Mark {
    /// The tag the element must have.
    fn tag(self) -> &'static str {
        match self {
            Mark::Badge => "a",
            Mark::Script => "script",
            _ => "div",
        }
    }
}

#[derive(Debug)]
enum Kind {
    Document,
    /// A `<template>`'s contents.
    Fragment,
    Element {
        name: QualName,
        /// A platform marker, and whether it sits on the right tag.
        mark: Option<(Mark, bool)>,
        /// `hidden`, `inert`, or an inline style that hides.
        hides: bool,
        /// MathML `annotation-xml` taking HTML.
        integration: bool,
        /// The template contents of a `<template>`.
        contents: Option<usize>,
    },
    Comment,
    Other,
}

#[derive(Debug)]
struct Node {
    parent: Option<usize>,
    /// Children appended (some may have moved since: their `parent` says).
    children: Vec<usize>,
    kind: Kind,
    line: u64,
}

/// Where the block's markup went when it was not parsed as elements.
#[derive(Debug, Clone, Copy)]
enum Swallowed {
    Comment,
    /// Text of this node.
    Text(usize),
    /// An attribute value of this element.
    Attribute(usize),
}

/// The skeleton html5ever builds.
#[derive(Debug)]
struct Tree {
    nodes: RefCell<Vec<Node>>,
    line: Cell<u64>,
    swallowed: RefCell<Vec<Swallowed>>,
}

#[derive(Debug)]
struct Name(QualName);

impl ElemName for Name {
    fn ns(&self) -> &Namespace {
        &self.0.ns
    }
    fn local_name(&self) -> &LocalName {
        &self.0.local
    }
}

const BLOCK_MARKUP: &str = "data-sopixi-platform";

impl Tree {
    fn push(&self, kind: Kind) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node { parent: None, children: Vec::new(), kind, line: self.line.get() });
        nodes.len() - 1
    }

    fn attach(&self, parent: usize, child: usize) {
        let mut nodes = self.nodes.borrow_mut();
        nodes[child].parent = Some(parent);
        nodes[parent].children.push(child);
    }

    fn text(&self, parent: usize, text: &str) {
        if text.contains(BLOCK_MARKUP) {
            self.swallowed.borrow_mut().push(Swallowed::Text(parent));
        }
    }
}

fn hides_attrs(attrs: &[Attribute]) -> bool {
    let named = |n: &str| attrs.iter().any(|a| a.name.ns == ns!() && &*a.name.local == n);
    let style = attrs.iter().find(|a| a.name.ns == ns!() && &*a.name.local == "style");
    named("hidden") || named("inert") || style.is_some_and(|s| super::compliance::hides(&s.value))
}

impl TreeSink for Tree {
    type Handle = usize;
    type Output = Self;
    type ElemName<'a> = Name;

    fn finish(self) -> Self {
        self
    }

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> usize {
        0
    }

    fn elem_name<'a>(&'a self, target: &'a usize) -> Name {
        match &self.nodes.borrow()[*target].kind {
            Kind::Element { name, .. } => Name(name.clone()),
            _ => Name(QualName::new(None, ns!(), LocalName::from(""))),
        }
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> usize {
        let mut mark = None;
        for a in &attrs {
            let m = match &*a.name.local {
                "data-sopixi-platform" => Some(Mark::Block),
                "data-sopixi-badge" => Some(Mark::Badge),
                "data-sopixi-notice" => Some(Mark::Notice),
                "data-sopixi-age-gate" => Some(Mark::Gate),
                "src" if &*name.local == "script" && a.value.contains("/platform.js") => Some(Mark::Script),
                _ => None,
            };
            if let Some(m) = m {
                mark = Some((m, name.ns == ns!(html) && &*name.local == m.tag()));
            }
        }
        let swallows = attrs.iter().any(|a| a.value.contains(BLOCK_MARKUP));
        let hides = hides_attrs(&attrs);
        let integration = flags.mathml_annotation_xml_integration_point;
        let id = self.push(Kind::Element { name, mark, hides, integration, contents: None });
        if swallows {
            self.swallowed.borrow_mut().push(Swallowed::Attribute(id));
        }
        if flags.template {
            let contents = self.push(Kind::Fragment);
            self.nodes.borrow_mut()[contents].parent = Some(id);
            if let Kind::Element { contents: c, .. } = &mut self.nodes.borrow_mut()[id].kind {
                *c = Some(contents);
            }
        }
        id
    }

    fn create_comment(&self, text: StrTendril) -> usize {
        let id = self.push(Kind::Comment);
        if text.contains(BLOCK_MARKUP) {
            self.swallowed.borrow_mut().push(Swallowed::Comment);
        }
        id
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> usize {
        self.push(Kind::Other)
    }

    fn append(&self, parent: &usize, child: NodeOrText<usize>) {
        match child {
            NodeOrText::AppendNode(c) => self.attach(*parent, c),
            NodeOrText::AppendText(t) => self.text(*parent, &t),
        }
    }

    fn append_based_on_parent_node(&self, element: &usize, prev: &usize, child: NodeOrText<usize>) {
        if self.nodes.borrow()[*element].parent.is_some() {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev, child);
        }
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {}

    fn get_template_contents(&self, target: &usize) -> usize {
        match &self.nodes.borrow()[*target].kind {
            Kind::Element { contents: Some(c), .. } => *c,
            _ => *target,
        }
    }

    fn same_node(&self, x: &usize, y: &usize) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &usize, new_node: NodeOrText<usize>) {
        let parent = self.nodes.borrow()[*sibling].parent.unwrap_or(0);
        self.append(&parent, new_node);
    }

    fn add_attrs_if_missing(&self, target: &usize, attrs: Vec<Attribute>) {
        if hides_attrs(&attrs) {
            if let Kind::Element { hides, .. } = &mut self.nodes.borrow_mut()[*target].kind {
                *hides = true;
            }
        }
    }

    fn remove_from_parent(&self, target: &usize) {
        self.nodes.borrow_mut()[*target].parent = None;
    }

    fn reparent_children(&self, node: &usize, new_parent: &usize) {
        let children = std::mem::take(&mut self.nodes.borrow_mut()[*node].children);
        for c in children {
            if self.nodes.borrow()[c].parent == Some(*node) {
                self.attach(*new_parent, c);
            }
        }
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &usize) -> bool {
        matches!(self.nodes.borrow()[*handle].kind, Kind::Element { integration: true, .. })
    }

    fn set_current_line(&self, line: u64) {
        self.line.set(line);
    }

    fn allow_declarative_shadow_roots(&self, _intended_parent: &usize) -> bool {
        false
    }
}

/// Parses `html` as a browser does and says where its platform elements are (`adult`: the age
/// gate must be there too).
pub fn placement(html: &str, adult: bool) -> Placement {
    let tree = Tree { nodes: RefCell::new(Vec::new()), line: Cell::new(1), swallowed: RefCell::new(Vec::new()) };
    tree.push(Kind::Document);
    let tree = html5ever::parse_document(tree, ParseOpts::default()).one(StrTendril::from(html));
    let nodes = tree.nodes.into_inner();
    let swallowed = tree.swallowed.into_inner();
    let mut wanted = vec![Mark::Block, Mark::Badge, Mark::Notice, Mark::Script];
    if adult {
        wanted.push(Mark::Gate);
    }
    let mut enclosed = None;
    for mark in wanted {
        let verdicts: Vec<Placement> = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.kind, Kind::Element { mark: Some((m, _)), .. } if m == mark))
            .map(|(i, _)| judge(&nodes, i))
            .collect();
        if verdicts.contains(&Placement::Sound) {
            continue;
        }
        // None sound: the last one (the injected one) tells why; none at all, what swallowed it.
        let verdict = verdicts.into_iter().last().unwrap_or_else(|| swallowed_by(&nodes, &swallowed, html));
        match verdict {
            Placement::Enclosed { .. } if mark == Mark::Block => enclosed = Some(verdict),
            // The badge, notice and script are in the block: closing its elements moves them
            // too. The age gate opens <body>: what encloses it, closing cannot undo.
            Placement::Enclosed { culprit, .. } if mark == Mark::Gate => return Placement::Lost(culprit),
            Placement::Enclosed { .. } => {}
            other => return other,
        }
    }
    enclosed.unwrap_or(Placement::Sound)
}

fn element(nodes: &[Node], i: usize) -> Option<(&QualName, bool)> {
    match &nodes[i].kind {
        Kind::Element { name, hides, .. } => Some((name, *hides)),
        _ => None,
    }
}

fn culprit(nodes: &[Node], context: Cause, i: usize) -> Culprit {
    let name = element(nodes, i).map(|(n, _)| n.local.to_string()).unwrap_or_default();
    Culprit { cause: context, name, line: Some(nodes[i].line) }
}

/// Where the element `i` is.
fn judge(nodes: &[Node], i: usize) -> Placement {
    if let Kind::Element { mark: Some((_, false)), .. } = nodes[i].kind {
        return Placement::Lost(culprit(nodes, Cause::Tag, i));
    }
    let mut foreign = None;
    let mut hiding = None;
    let mut between = Vec::new();
    let mut at = nodes[i].parent;
    while let Some(p) = at {
        match &nodes[p].kind {
            Kind::Fragment => {
                let template = nodes[p].parent.unwrap_or(p);
                return Placement::Lost(culprit(nodes, Cause::Template, template));
            }
            Kind::Element { name, .. } if name.ns != ns!(html) => foreign = Some(p),
            Kind::Element { name, hides, .. } if &*name.local == "body" || &*name.local == "html" => {
                if *hides {
                    return Placement::Lost(culprit(nodes, Cause::Root, p));
                }
                if &*name.local == "body" {
                    let root = nodes[p].parent.filter(|&h| element(nodes, h).is_some_and(|(n, _)| &*n.local == "html"));
                    if root.and_then(|h| nodes[h].parent) != Some(0) {
                        return Placement::Lost(culprit(nodes, Cause::Dropped, i));
                    }
                    return match (foreign, hiding) {
                        (Some(f), _) => Placement::Lost(culprit(nodes, Cause::Foreign, f)),
                        (None, Some(h)) => {
                            Placement::Enclosed { close: between, culprit: culprit(nodes, Cause::Hiding, h) }
                        }
                        (None, None) => Placement::Sound,
                    };
                }
            }
            Kind::Element { name, hides, .. } => {
                if *hides || HIDING.contains(&&*name.local) {
                    hiding = Some(p);
                }
                between.push(name.local.to_string());
            }
            _ => {}
        }
        at = nodes[p].parent;
    }
    Placement::Lost(Culprit { cause: Cause::Dropped, name: String::new(), line: None })
}

/// Why the block is not an element: where its markup went.
fn swallowed_by(nodes: &[Node], swallowed: &[Swallowed], html: &str) -> Placement {
    let Some(last) = swallowed.last() else {
        return Placement::Lost(Culprit { cause: Cause::Dropped, name: String::new(), line: None });
    };
    match *last {
        Swallowed::Comment => {
            // The comment's node carries the line where it ended: find where it starts.
            let at = html.rfind(BLOCK_MARKUP).unwrap_or(html.len());
            let start = html[..at].rfind("<!");
            let line = start.map(|s| html[..s].bytes().filter(|&b| b == b'\n').count() as u64 + 1);
            Placement::Lost(Culprit { cause: Cause::Comment, name: "comment".into(), line })
        }
        Swallowed::Attribute(e) => Placement::Lost(culprit(nodes, Cause::Tag, e)),
        Swallowed::Text(p) => match element(nodes, p) {
            Some((name, _)) if RAW_TEXT.contains(&&*name.local) => Placement::Lost(culprit(nodes, Cause::RawText, p)),
            Some(_) => match judge(nodes, p) {
                // Text of an element that takes no elements (`<select>` …): closing it helps.
                Placement::Enclosed { mut close, culprit } => {
                    close.insert(0, element(nodes, p).map(|(n, _)| n.local.to_string()).unwrap_or_default());
                    Placement::Enclosed { close, culprit }
                }
                Placement::Sound => {
                    let name = element(nodes, p).map(|(n, _)| n.local.to_string()).unwrap_or_default();
                    let culprit = Culprit { cause: Cause::Hiding, name: name.clone(), line: Some(nodes[p].line) };
                    Placement::Enclosed { close: vec![name], culprit }
                }
                lost => lost,
            },
            None => Placement::Lost(Culprit { cause: Cause::Dropped, name: String::new(), line: None }),
        },
    }
}

/// Start tags after which the end of a page is not certainly in `<body>`, whatever follows them
/// (raw text, inert or foreign content, fallback content that is not rendered, a `<select>` …):
/// such a page takes the tree builder's path.
const UNCERTAIN: &[&[u8]] = &[
    b"template",
    b"frameset",
    b"frame",
    b"noscript",
    b"plaintext",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
    b"math",
    b"foreignobject",
    b"desc",
    b"annotation-xml",
    b"audio",
    b"video",
    b"canvas",
    b"object",
    b"applet",
    b"datalist",
    b"meter",
    b"progress",
    b"marquee",
    b"select",
    b"selectedcontent",
];

/// Elements ended by scope (an end tag closes them unless a table stands between), counted.
const SCOPED: [&[u8]; 3] = [b"details", b"dialog", b"button"];

/// Elements whose content is raw text (outside SVG) in a page that reaches the fast path.
const SKIPPED: &[&[u8]] = &[b"script", b"style", b"title", b"textarea"];

/// One tag as the tokenizer reads it.
struct Tag {
    /// Lower-case name (truncated past 24 bytes, which no name below has).
    name: [u8; 24],
    len: usize,
    /// Just past its `>`.
    end: usize,
    self_closing: bool,
    /// `hidden`, `inert` or an inline style that hides.
    hides: bool,
}

impl Tag {
    fn is(&self, name: &[u8]) -> bool {
        &self.name[..self.len] == name
    }
}

/// Reads the tag whose name starts at `from`, attribute values and all (a `>` or `<` inside a
/// quoted value is not the end of it). `None` when the document ends inside it.
fn read_tag(doc: &[u8], from: usize) -> Option<Tag> {
    let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
    let mut k = from;
    let mut tag = Tag { name: [0; 24], len: 0, end: 0, self_closing: false, hides: false };
    while k < doc.len() && !ws(doc[k]) && doc[k] != b'/' && doc[k] != b'>' {
        if tag.len < tag.name.len() {
            tag.name[tag.len] = doc[k].to_ascii_lowercase();
            tag.len += 1;
        }
        k += 1;
    }
    let mut slash = None;
    loop {
        while k < doc.len() && (ws(doc[k]) || doc[k] == b'/') {
            if doc[k] == b'/' {
                slash = Some(k);
            }
            k += 1;
        }
        match doc.get(k)? {
            b'>' => {
                tag.end = k + 1;
                tag.self_closing = slash == Some(k - 1);
                return Some(tag);
            }
            _ => {
                let name_start = k;
                k += 1;
                while k < doc.len() && !ws(doc[k]) && !matches!(doc[k], b'/' | b'>' | b'=') {
                    k += 1;
                }
                let name = &doc[name_start..k];
                while k < doc.len() && ws(doc[k]) {
                    k += 1;
                }
                let mut value: &[u8] = b"";
                if doc.get(k) == Some(&b'=') {
                    k += 1;
                    while k < doc.len() && ws(doc[k]) {
                        k += 1;
                    }
                    match doc.get(k)? {
                        q @ (b'"' | b'\'') => {
                            let close = memchr::memchr(*q, &doc[k + 1..])?;
                            value = &doc[k + 1..k + 1 + close];
                            k += close + 2;
                        }
                        _ => {
                            let start = k;
                            while k < doc.len() && !ws(doc[k]) && doc[k] != b'>' {
                                k += 1;
                            }
                            value = &doc[start..k];
                        }
                    }
                }
                if name.eq_ignore_ascii_case(b"hidden")
                    || name.eq_ignore_ascii_case(b"inert")
                    || (name.eq_ignore_ascii_case(b"style")
                        && super::compliance::hides(&String::from_utf8_lossy(value)))
                {
                    tag.hides = true;
                }
            }
        }
    }
}

/// Where the end tag `</name` of raw text starting at `from` begins (any case, followed by a
/// space, `/` or `>`).
fn raw_text_end(doc: &[u8], from: usize, name: &[u8]) -> Option<usize> {
    memchr::memmem::find_iter(&doc[from..], b"</").map(|i| from + i).find(|&at| {
        doc.get(at + 2..at + 2 + name.len()).is_some_and(|n| n.eq_ignore_ascii_case(name))
            && doc
                .get(at + 2 + name.len())
                .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>'))
    })
}

/// Whether the end of `doc` is certainly directly in `<body>`, in the data state, as a browser's
/// parser reads it, so that markup appended there is the body's last child. Read tag by tag
/// (attribute values and raw text skipped as the tokenizer does); false on anything that would
/// need the tree builder to be sure: a comment, an unfinished tag, an element of
/// the uncertain list (raw text, template, foreign, fallback content, `<select>` …), `</body>` or `</html>`, any element with `hidden`, `inert` or an inline style
/// that hides, `<details>`, `<dialog>`, `<button>` or `<svg>` left open (or ended where a table
/// could keep them open), raw text never ended or holding `<!--`.
pub fn end_is_in_body(doc: &[u8]) -> bool {
    let mut scoped = [0u32; 3];
    let (mut svg, mut tables) = (0u32, 0u32);
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &doc[i..]) {
        let lt = i + off;
        let Some(&next) = doc.get(lt + 1) else { return false };
        let closing = next == b'/';
        if next == b'!' || next == b'?' || (closing && !doc.get(lt + 2).is_some_and(u8::is_ascii_alphabetic)) {
            // A comment may swallow what follows; a doctype or bogus comment ends at `>`.
            if doc[lt..].starts_with(b"<!--") {
                return false;
            }
            match memchr::memchr(b'>', &doc[lt..]) {
                Some(e) => i = lt + e + 1,
                None => return false,
            }
            continue;
        }
        if !next.is_ascii_alphabetic() && !closing {
            i = lt + 1;
            continue;
        }
        let Some(tag) = read_tag(doc, if closing { lt + 2 } else { lt + 1 }) else { return false };
        i = tag.end;
        let scope = SCOPED.iter().position(|n| tag.is(n));
        if closing {
            if tag.is(b"body") || tag.is(b"html") {
                return false;
            }
            if let Some(k) = scope {
                if tables > 0 {
                    return false;
                }
                scoped[k] = scoped[k].saturating_sub(1);
            } else if tag.is(b"svg") {
                svg = svg.saturating_sub(1);
            } else if tag.is(b"table") {
                tables = tables.saturating_sub(1);
            }
            continue;
        }
        if tag.hides || UNCERTAIN.iter().any(|n| tag.is(n)) {
            return false;
        }
        if let Some(k) = scope {
            scoped[k] += 1;
        } else if tag.is(b"svg") {
            svg += u32::from(!tag.self_closing);
        } else if tag.is(b"table") {
            tables += 1;
        } else if let Some(raw) = SKIPPED.iter().find(|n| tag.is(n)) {
            if svg > 0 {
                // Inside SVG these are SVG elements: markup, not raw text; an SVG <title> holds HTML.
                if tag.is(b"title") {
                    return false;
                }
                continue;
            }
            let Some(end) = raw_text_end(doc, i, raw) else { return false };
            if tag.is(b"script") && memchr::memmem::find(&doc[i..end], b"<!--").is_some() {
                return false;
            }
            i = end;
        }
    }
    scoped == [0; 3] && svg == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::compliance::Injector;
    use crate::policy::Policy;

    fn page(before_end: &str) -> String {
        let policy = Policy::default();
        let injector = Injector::new(&policy, "en", "en");
        let block = injector.block();
        format!("<!doctype html>\n<html>\n<head><title>t</title></head>\n<body>\n<p>hi</p>\n{before_end}\n{block}</body>\n</html>\n")
    }

    fn lost(before_end: &str) -> Culprit {
        match placement(&page(before_end), false) {
            Placement::Lost(c) => c,
            other => panic!("{before_end}: {other:?}"),
        }
    }

    #[test]
    fn an_ordinary_page_is_sound() {
        assert_eq!(placement(&page("<div><span>x</span></div>"), false), Placement::Sound);
        assert_eq!(
            placement(&page("<div class=wrap><main>unclosed"), false),
            Placement::Sound,
            "plain wrappers left open"
        );
        assert_eq!(placement(&page("<table><tr><td>cell"), false), Placement::Sound, "foster parenting");
        assert_eq!(
            placement(&page("<svg><circle r=1></circle></svg><math><mi>x</mi></math>"), false),
            Placement::Sound
        );
    }

    #[test]
    fn contexts_that_swallow_the_block_are_named_with_their_line() {
        let c = lost("<template>");
        assert_eq!((c.cause, c.name.as_str(), c.line), (Cause::Template, "template", Some(6)));
        let c = lost("<!-- start");
        assert_eq!((c.cause, c.line), (Cause::Comment, Some(6)));
        let c = lost("<textarea>");
        assert_eq!((c.cause, c.name.as_str(), c.line), (Cause::RawText, "textarea", Some(6)));
        let c = lost("<script>var x = 1;");
        assert_eq!((c.cause, c.name.as_str()), (Cause::RawText, "script"));
        let c = lost("<svg><foreignObject>");
        assert_eq!((c.cause, c.name.as_str()), (Cause::Foreign, "svg"));
        let c = lost("<img alt=\"");
        assert_eq!((c.cause, c.name.as_str()), (Cause::Tag, "img"));
        let c = lost("<noscript>");
        assert_eq!(c.cause, Cause::RawText);
    }

    #[test]
    fn hiding_elements_left_open_are_closed_innermost_first() {
        match placement(&page("<details><div><p>x"), false) {
            Placement::Enclosed { close, culprit } => {
                assert_eq!(close, ["div", "details"], "the <p> ends at the block's <div>");
                assert_eq!((culprit.cause, culprit.name.as_str()), (Cause::Hiding, "details"));
            }
            other => panic!("{other:?}"),
        }
        for open in ["<select>", "<dialog>", "<video>", "<div hidden>", "<div style=\"display:none\">", "<button>"] {
            assert!(matches!(placement(&page(open), false), Placement::Enclosed { .. }), "{open}");
        }
    }

    #[test]
    fn the_gate_is_wanted_on_adult_pages_only() {
        let p = page("");
        assert_eq!(placement(&p, false), Placement::Sound);
        assert!(matches!(placement(&p, true), Placement::Lost(Culprit { cause: Cause::Dropped, .. })));
    }

    #[test]
    fn the_fast_path_is_sure_only_when_the_tree_builder_would_agree() {
        let sure = |doc: &str| end_is_in_body(doc.as_bytes());
        assert!(sure("<!doctype html><html><head><title>a</title></head><body><p>x<a href=/y/>y</a>"));
        assert!(sure("<body><script>if(a<b)x='</div>'</script><details><p>x</details><svg/><svg><path/></svg>"));
        assert!(sure("<body><a title='<details>'>x</a><table><tr><td>1</table>"));
        for doc in [
            "<body><details><p>x",
            "<body><p>x<!-- c -->",
            "<body><template>",
            "<body><select><option>x</select>",
            "<body><a title=\"x",
            "<body><textarea>",
            "<body><script>a<!--<script>",
            "<body><details><table><td></details></table>",
            "<body><div hidden>",
            "<body><p style='display:none'>",
            "<html inert><body>",
            "<body><svg><title><div></title></svg>",
            "<body><svg><foreignObject>",
            "<body><video>",
            "<body></body>",
            "<body><details><a title='</details>'>",
        ] {
            assert!(!sure(doc), "{doc}");
        }
    }

    #[test]
    fn a_page_the_fast_path_accepts_is_sound_for_the_tree_builder() {
        let policy = Policy::default();
        let injector = Injector::new(&policy, "en", "en");
        for doc in [
            "<body><p>x<a href=/y/>y</a>",
            "<body><script>if(a<b)x='</div>'</script><details><p>x</details><svg/><svg><path/></svg>",
            "<body><a title='<details>'>x</a><table><tr><td>1</table><ul><li>a<li>b",
            "<body><p>x</p><table><tr><td>1</table></body></html>",
        ] {
            let out =
                crate::policy::compliance::append_if_certain(doc.as_bytes().to_vec(), injector.block().as_bytes())
                    .unwrap_or_else(|| panic!("{doc}"));
            assert_eq!(placement(&String::from_utf8(out).unwrap(), false), Placement::Sound, "{doc}");
        }
    }
}
