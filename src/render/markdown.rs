//! Markdown → HTML with pulldown-cmark: tables, footnotes, strikethrough, task lists, smart
//! punctuation, heading ids and anchors, a table of contents, the `<!-- more -->` summary, internal
//! links (`@/blog/hello.md`) and build-time code highlighting.
//!
//! In: Markdown text (shortcodes already taken out) and a [`MdContext`]. Out: `Rendered` HTML and
//! the problems found, each with its byte offset so the caller can name the line. No IO.

use std::collections::HashSet;

use crate::render::highlight::Highlighter;
use crate::site::body::{Heading, MdProblem, Rendered};
use crate::site::config::MarkdownConfig;
use crate::util::text::{escape_html, slugify};
use pulldown_cmark::{html, CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

/// The marker that ends a page's summary.
pub(crate) const MORE_MARKER: &str = "<!-- more -->";

/// What rendering needs from the rest of the site.
pub struct MdContext<'a> {
    /// Markdown switches from `site.yaml`.
    pub config: &'a MarkdownConfig,
    /// Resolves `@/path.md` (without the `@/`) to a URL; `None` when no such content exists.
    pub resolve: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// The code highlighter.
    pub highlighter: &'a Highlighter,
    /// Whether local images are marked `data-responsive` (for the build to turn into
    /// `<picture>`s) rather than written as plain `<img>`.
    pub responsive_images: bool,
}

fn options(cfg: &MarkdownConfig) -> Options {
    let mut o = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    if cfg.smart_punctuation {
        o |= Options::ENABLE_SMART_PUNCTUATION;
    }
    o
}

fn level_num(l: HeadingLevel) -> u32 {
    l as u32
}

/// A heading being gathered: level, explicit id, classes, inner events.
type OpenHeading<'a> = (HeadingLevel, Option<CowStr<'a>>, Vec<CowStr<'a>>, Vec<Event<'a>>);

/// Renders Markdown to HTML: one pass over pulldown-cmark's events, whose state (open heading,
/// code block, image, summary marker, word count) stays here; each kind of event that becomes
/// our own HTML is made by a function of its own.
pub fn render(text: &str, cx: &MdContext) -> Rendered {
    let mut out = Rendered::default();
    let mut events: Vec<Event> = Vec::with_capacity(text.len() / 8);
    let mut ids: HashSet<String> = HashSet::new();
    let mut flat: Vec<Heading> = Vec::new();
    let mut more_at: Option<usize> = None;
    let mut link_stack: Vec<bool> = Vec::new();
    // A local image being gathered: source, title, alt text.
    let mut image: Option<(CowStr, CowStr, String)> = None;

    // A heading or code block is gathered whole, then emitted as HTML.
    let mut heading: Option<OpenHeading> = None;
    let mut code: Option<(Option<String>, String)> = None;

    for (ev, range) in Parser::new_ext(text, options(cx.config)).into_offset_iter() {
        if let Some((lang, buf)) = &mut code {
            match ev {
                Event::Text(t) => buf.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    let lang = lang.take();
                    let body = std::mem::take(buf);
                    code = None;
                    events.push(Event::Html(code_block(lang.as_deref(), &body, cx).into()));
                }
                _ => {}
            }
            continue;
        }
        if let Some((_, _, alt)) = &mut image {
            match ev {
                Event::Text(t) | Event::Code(t) => alt.push_str(&t),
                Event::SoftBreak | Event::HardBreak => alt.push(' '),
                Event::End(TagEnd::Image) => {
                    if let Some((src, title, alt)) = image.take() {
                        let tag = image_tag(&src, &title, &alt);
                        match &mut heading {
                            Some((.., inner)) => inner.push(Event::InlineHtml(tag.into())),
                            None => events.push(Event::InlineHtml(tag.into())),
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        let ev = match ev {
            Event::Start(Tag::Image { dest_url, title, .. }) if cx.responsive_images && is_local(&dest_url) => {
                image = Some((dest_url, title, String::new()));
                continue;
            }
            Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
                let (ev, new_tab) = link_start(link_type, dest_url, title, id, range.start, cx, &mut out.problems);
                link_stack.push(new_tab);
                ev
            }
            Event::End(TagEnd::Link) => {
                if link_stack.pop() == Some(true) {
                    Event::Html("</a>".into())
                } else {
                    Event::End(TagEnd::Link)
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split([' ', ',', '{']).next().filter(|s| !s.is_empty()).map(str::to_string)
                    }
                    CodeBlockKind::Indented => None,
                };
                code = Some((lang, String::new()));
                continue;
            }
            Event::Start(Tag::Heading { level, id, classes, .. }) => {
                heading = Some((level, id, classes, Vec::new()));
                continue;
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(open) = heading.take() {
                    flat.push(close_heading(open, &mut ids, cx, &mut events));
                }
                continue;
            }
            Event::Html(ref h) | Event::InlineHtml(ref h) if more_at.is_none() && h.contains(MORE_MARKER) => {
                more_at = Some(events.len());
                ev
            }
            other => other,
        };
        if let Event::Text(t) = &ev {
            out.word_count += count_words(t);
        }
        match &mut heading {
            Some((.., inner)) => inner.push(ev),
            None => events.push(ev),
        }
    }

    label_task_items(&mut events);
    write_html(&mut out, events, more_at, text.len());
    out.toc = nest(flat);
    out
}

/// A local image, marked for the responsive-image stage.
fn image_tag(src: &str, title: &str, alt: &str) -> String {
    let title = if title.is_empty() { String::new() } else { format!(" title=\"{}\"", escape_html(title)) };
    format!("<img src=\"{}\" alt=\"{}\"{title} data-responsive>", escape_html(src), escape_html(alt))
}

/// A link's opening: an internal link (`@/…`) resolved (a broken one is a problem at `offset`),
/// an external one opened in a new tab where the configuration asks. Returns the event and
/// whether its end must close the new-tab `<a>`.
fn link_start<'a>(
    link_type: LinkType,
    dest_url: CowStr<'a>,
    title: CowStr<'a>,
    id: CowStr<'a>,
    offset: usize,
    cx: &MdContext,
    problems: &mut Vec<MdProblem>,
) -> (Event<'a>, bool) {
    let dest_url = match internal_target(&dest_url) {
        Some(target) => match resolve_with_anchor(target, cx) {
            Some(url) => CowStr::from(url),
            None => {
                problems.push(MdProblem {
                    offset,
                    message: format!("broken internal link `{dest_url}`: no such content file"),
                    hint: "internal links name a file under content/, e.g. @/blog/hello.md".into(),
                });
                dest_url
            }
        },
        None => dest_url,
    };
    let external = dest_url.starts_with("http://") || dest_url.starts_with("https://");
    if external && cx.config.external_links_new_tab {
        let title_attr = if title.is_empty() { String::new() } else { format!(" title=\"{}\"", escape_html(&title)) };
        let html = format!("<a href=\"{}\"{title_attr} target=\"_blank\" rel=\"noopener\">", escape_html(&dest_url));
        (Event::Html(html.into()), true)
    } else {
        (Event::Start(Tag::Link { link_type, dest_url, title, id }), false)
    }
}

/// A gathered heading emitted: a unique id (its own, or its text's slug), its classes, the
/// anchor link where configured. Returns its entry for the table of contents.
fn close_heading<'a>(
    (level, id, classes, inner): OpenHeading<'a>,
    ids: &mut HashSet<String>,
    cx: &MdContext,
    events: &mut Vec<Event<'a>>,
) -> Heading {
    let title: String = inner
        .iter()
        .filter_map(|e| match e {
            Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
            _ => None,
        })
        .collect();
    let base = id.map(|s| s.to_string()).unwrap_or_else(|| slugify(&title));
    let mut unique = base.clone();
    let mut n = 1;
    while !ids.insert(unique.clone()) {
        unique = format!("{base}-{n}");
        n += 1;
    }
    let class_attr =
        if classes.is_empty() { String::new() } else { format!(" class=\"{}\"", escape_html(&classes.join(" "))) };
    let lvl = level_num(level);
    events.push(Event::Html(format!("<h{lvl} id=\"{}\"{class_attr}>", escape_html(&unique)).into()));
    events.extend(inner);
    if cx.config.heading_anchors {
        events.push(Event::Html(
            format!(
                "<a class=\"heading-anchor\" href=\"#{}\" aria-label=\"Link to this section\">#</a>",
                escape_html(&unique)
            )
            .into(),
        ));
    }
    events.push(Event::Html(format!("</h{lvl}>").into()));
    Heading { level: lvl, id: unique, title, children: Vec::new() }
}

/// The events written as HTML, and the summary (up to the `<!-- more -->` marker; an inline
/// marker ends it at the end of its paragraph).
fn write_html(out: &mut Rendered, events: Vec<Event>, more_at: Option<usize>, text_len: usize) {
    if let Some(at) = more_at {
        let end = events[at..]
            .iter()
            .position(|e| matches!(e, Event::End(TagEnd::Paragraph)))
            .filter(|_| matches!(events[at], Event::InlineHtml(_)))
            .map_or(at, |p| at + p + 1);
        let mut summary = String::new();
        html::push_html(&mut summary, events[..end].iter().cloned());
        out.summary = Some(summary);
    }
    out.html_in_memory.reserve(text_len * 3 / 2);
    html::push_html(&mut out.html_in_memory, events.into_iter());
    // Kept until the end of the build: do not keep the growth slack of 10,000 pages too.
    out.html_in_memory.shrink_to_fit();
}

/// The words of `t`, as `split_whitespace` counts them; ASCII text (most of it) is counted a byte
/// at a time, several times faster.
fn count_words(t: &str) -> usize {
    if !t.is_ascii() {
        return t.split_whitespace().count();
    }
    let mut prev_space = true;
    let mut n = 0;
    for &c in t.as_bytes() {
        let space = matches!(c, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r');
        n += usize::from(prev_space & !space);
        prev_space = space;
    }
    n
}

/// Whether an image URL names a file of the site (not another site, not inline data).
fn is_local(url: &str) -> bool {
    !(url.is_empty()
        || url.contains("://")
        || url.starts_with("//")
        || url.starts_with("data:")
        || url.starts_with('#'))
}

/// `@/blog/hello.md#part` → `Some("blog/hello.md#part")`.
fn internal_target(url: &str) -> Option<&str> {
    url.strip_prefix("@/")
}

fn resolve_with_anchor(target: &str, cx: &MdContext) -> Option<String> {
    let (file, anchor) = match target.split_once('#') {
        Some((f, a)) => (f, Some(a)),
        None => (target, None),
    };
    let url = (cx.resolve)(file)?;
    Some(match anchor {
        Some(a) => format!("{url}#{a}"),
        None => url,
    })
}

fn code_block(lang: Option<&str>, code: &str, cx: &MdContext) -> String {
    let highlighted = match lang {
        Some(l) if cx.config.highlight_code => cx.highlighter.highlight(l, code),
        _ => None,
    };
    match (lang, highlighted) {
        (Some(l), Some(h)) => {
            let l = escape_html(l);
            format!("<pre class=\"hl\" data-lang=\"{l}\"><code class=\"language-{l}\">{h}</code></pre>\n")
        }
        (Some(l), None) => {
            let l = escape_html(l);
            format!("<pre data-lang=\"{l}\"><code class=\"language-{l}\">{}</code></pre>\n", escape_html(code))
        }
        (None, _) => format!("<pre><code>{}</code></pre>\n", escape_html(code)),
    }
}

/// Nests a flat list of headings by level.
fn nest(flat: Vec<Heading>) -> Vec<Heading> {
    fn insert(into: &mut Vec<Heading>, h: Heading) {
        match into.last_mut() {
            Some(last) if last.level < h.level => insert(&mut last.children, h),
            _ => into.push(h),
        }
    }
    let mut root = Vec::new();
    for h in flat {
        insert(&mut root, h);
    }
    root
}

/// A task item's checkbox (`- [x] done`) gets its text as a label, `<label><input …> text</label>`:
/// a form control without a label is a critical accessibility fault (axe-core's `label` rule).
/// The label closes before anything that is not phrasing content (a nested list, a paragraph's
/// end, the item's end).
fn label_task_items(events: &mut Vec<Event>) {
    let Some(first) = events.iter().position(|e| matches!(e, Event::TaskListMarker(_))) else { return };
    let mut out = Vec::with_capacity(events.len() + 8);
    out.extend(events.drain(..first));
    let mut open = false;
    for ev in events.drain(..) {
        match ev {
            Event::TaskListMarker(checked) => {
                if open {
                    out.push(Event::InlineHtml("</label>".into()));
                }
                let state = if checked { " checked" } else { "" };
                out.push(Event::InlineHtml(format!("<label><input type=\"checkbox\" disabled{state}> ").into()));
                open = true;
            }
            Event::End(TagEnd::Paragraph | TagEnd::Item)
            | Event::Start(Tag::List(_) | Tag::Paragraph | Tag::BlockQuote(_) | Tag::CodeBlock(_))
                if open =>
            {
                out.push(Event::InlineHtml("</label>".into()));
                open = false;
                out.push(ev);
            }
            ev => out.push(ev),
        }
    }
    *events = out;
}

/// Renders Markdown without links resolution or shortcodes (the `markdown` template filter).
pub(crate) fn render_plain(text: &str, cfg: &MarkdownConfig) -> String {
    let mut out = String::new();
    let parser = Parser::new_ext(text, options(cfg));
    if text.contains('[') {
        // Perhaps a task list: its checkboxes get their labels.
        let mut events: Vec<Event> = parser.collect();
        label_task_items(&mut events);
        html::push_html(&mut out, events.into_iter());
    } else {
        html::push_html(&mut out, parser);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_with(text: &str) -> Rendered {
        let cfg = MarkdownConfig::default();
        let h = Highlighter::default();
        let resolve = |p: &str| (p == "blog/hello.md").then(|| "https://x.org/blog/hello/".to_string());
        render(text, &MdContext { config: &cfg, resolve: &resolve, highlighter: &h, responsive_images: true })
    }

    #[test]
    fn task_items_label_their_checkbox() {
        let r = render_with("- [x] Bio *flour*\n- [ ] A second shop\n  - nested\n\n1. plain\n");
        assert!(
            r.html_in_memory
                .contains("<li><label><input type=\"checkbox\" disabled checked> Bio <em>flour</em></label></li>"),
            "{}",
            r.html_in_memory
        );
        assert!(
            r.html_in_memory.contains("<label><input type=\"checkbox\" disabled> A second shop</label>\n<ul>"),
            "{}",
            r.html_in_memory
        );
        assert_eq!(
            r.html_in_memory.matches("<label>").count(),
            r.html_in_memory.matches("</label>").count(),
            "{}",
            r.html_in_memory
        );
        let loose = render_with("- [x] one\n\n  more\n- [ ] two\n");
        assert_eq!(loose.html_in_memory.matches("<label>").count(), 2, "{}", loose.html_in_memory);
        assert_eq!(loose.html_in_memory.matches("</label>").count(), 2, "{}", loose.html_in_memory);
    }

    #[test]
    fn words_are_counted_as_split_whitespace_counts_them() {
        for t in ["", " ", "one", " two  words ", "a\tb\nc\rd\x0Be\x0Cf", "já  está\u{2003}bem", "x\u{a0}y z"] {
            assert_eq!(count_words(t), t.split_whitespace().count(), "{t:?}");
        }
    }

    #[test]
    fn local_images_are_marked_for_the_build() {
        let r = render_with("![A *red* door](door.jpg \"Front\") ![far](https://x.org/a.png)\n");
        assert!(
            r.html_in_memory.contains(r#"<img src="door.jpg" alt="A red door" title="Front" data-responsive>"#),
            "{}",
            r.html_in_memory
        );
        assert!(r.html_in_memory.contains(r#"<img src="https://x.org/a.png" alt="far" />"#), "{}", r.html_in_memory);
    }

    #[test]
    fn extensions_are_on() {
        let r = render_with(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~x~~ - [x] done\n\nNote[^1].\n\n[^1]: foot\n\n\"quoted\"\n",
        );
        assert!(r.html_in_memory.contains("<table>"));
        assert!(r.html_in_memory.contains("<del>x</del>"));
        assert!(r.html_in_memory.contains("footnote"));
        assert!(r.html_in_memory.contains("“quoted”"), "{}", r.html_in_memory);
    }

    #[test]
    fn headings_get_unique_ids_anchors_and_toc() {
        let r = render_with("# Intro\n\n## Part *one*\n\n## Part one\n\n# End {#fin}\n");
        assert!(r.html_in_memory.contains("<h2 id=\"part-one\">"), "{}", r.html_in_memory);
        assert!(r.html_in_memory.contains("<h2 id=\"part-one-1\">"));
        assert!(r.html_in_memory.contains("<h1 id=\"fin\">"));
        assert!(r.html_in_memory.contains("href=\"#intro\""));
        assert_eq!(r.toc.len(), 2);
        assert_eq!(r.toc[0].children.len(), 2);
        assert_eq!(r.toc[0].children[0].title, "Part one");
    }

    #[test]
    fn internal_links_resolve_or_report() {
        let r = render_with("See [hello](@/blog/hello.md#top) and [gone](@/nope.md).\n");
        assert!(r.html_in_memory.contains("href=\"https://x.org/blog/hello/#top\""));
        assert_eq!(r.problems.len(), 1);
        assert!(r.problems[0].message.contains("@/nope.md"));
        assert_eq!(r.problems[0].offset, 37);
    }

    #[test]
    fn summary_and_code() {
        let r = render_with("Intro text.\n\n<!-- more -->\n\nRest.\n\n```rust\nfn main() {}\n```\n");
        assert_eq!(r.summary.as_deref(), Some("<p>Intro text.</p>\n"));
        assert!(r.html_in_memory.contains("class=\"language-rust\""));
        assert!(r.html_in_memory.contains("hl-"));
        assert_eq!(r.word_count, 3);
    }
}
