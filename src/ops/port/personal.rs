//! `sopixi export SITE --personal-data`: what the site holds about its author and the people it
//! names or collects — author and contact fields, e-mail addresses, phone numbers, the targets of
//! its forms — each with where it was found: an access or portability answer a partner can hand on.
//!
//! In: the site folder's text files (`site.yaml`, `content/`, `templates/`, `static/`, `i18n/`,
//! `data/`). Out: a [`Report`], sorted (the same site gives the same report). Reads only inside
//! the site; writes nothing (the caller writes the JSON).

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

/// One thing found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// `author`, `contact`, `email`, `phone`, `form_target`.
    pub kind: String,
    /// What was found.
    pub value: String,
    /// The file, relative to the site.
    pub file: String,
    /// Its line.
    pub line: usize,
    /// The key it is the value of (`site.yaml` `author`, front matter `extra.phone` …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// The whole answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The site's title.
    pub site: String,
    /// What made it.
    pub generator: String,
    /// Each distinct value by kind, for a reader in a hurry.
    pub summary: std::collections::BTreeMap<String, Vec<String>>,
    /// Every finding, by file and line.
    pub findings: Vec<Finding>,
    /// Files read.
    pub files_read: usize,
}

/// Keys whose values are about a person, wherever they are (`author`, `extra.email` …).
const PERSON_KEYS: &[(&str, &str)] = &[
    ("author", "author"),
    ("authors", "author"),
    ("owner", "author"),
    ("name", "contact"),
    ("contact", "contact"),
    ("email", "email"),
    ("mail", "email"),
    ("phone", "phone"),
    ("telephone", "phone"),
    ("tel", "phone"),
    ("mobile", "phone"),
    ("address", "contact"),
    ("street", "contact"),
    ("siret", "contact"),
];

/// Scans the site at `root`.
pub fn scan(root: &Path) -> Report {
    let mut r = Report { generator: format!("sopixi {}", env!("CARGO_PKG_VERSION")), ..Default::default() };
    let mut files: Vec<String> = vec!["site.yaml".into()];
    for dir in ["content", "templates", "static", "i18n", "data"] {
        for e in walkdir::WalkDir::new(root.join(dir)).sort_by_file_name().into_iter().filter_map(Result::ok) {
            if !e.file_type().is_file() {
                continue;
            }
            let ext = e.path().extension().and_then(|x| x.to_str()).unwrap_or("").to_ascii_lowercase();
            if !matches!(
                ext.as_str(),
                "md" | "html" | "htm" | "txt" | "yaml" | "yml" | "json" | "toml" | "csv" | "xml" | "js"
            ) {
                continue;
            }
            if let Ok(rel) = e.path().strip_prefix(root) {
                files.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
        }
    }
    let mut found: BTreeSet<Finding> = BTreeSet::new();
    for rel in &files {
        let Ok(text) = std::fs::read_to_string(root.join(rel)) else { continue };
        r.files_read += 1;
        if rel == "site.yaml" {
            if let Ok(v) = crate::util::yaml::from_str::<crate::util::yaml::Value>(&text) {
                let v = crate::util::yaml::to_json(&v);
                r.site = v.get("title").and_then(|t| t.as_str()).unwrap_or("").to_string();
                keys(&v, "", rel, &text, 0, &mut found);
            }
        } else if rel.ends_with(".md") {
            if let Some((fm, _)) = front_matter(&text) {
                if let Ok(v) = crate::util::yaml::from_str::<crate::util::yaml::Value>(fm) {
                    keys(&crate::util::yaml::to_json(&v), "", rel, fm, 1, &mut found);
                }
            }
        }
        scan_text(rel, &text, &mut found);
    }
    // A value found both as a key's value and in the text of the same line is one finding.
    let keyed: BTreeSet<(String, String, String, usize)> = found
        .iter()
        .filter(|f| f.key.is_some())
        .map(|f| (f.kind.clone(), f.value.clone(), f.file.clone(), f.line))
        .collect();
    r.findings = found
        .into_iter()
        .filter(|f| f.key.is_some() || !keyed.contains(&(f.kind.clone(), f.value.clone(), f.file.clone(), f.line)))
        .collect();
    r.findings.sort_by(|a, b| (&a.file, a.line, &a.kind, &a.value).cmp(&(&b.file, b.line, &b.kind, &b.value)));
    for f in &r.findings {
        let list = r.summary.entry(f.kind.clone()).or_default();
        if !list.contains(&f.value) {
            list.push(f.value.clone());
        }
    }
    for list in r.summary.values_mut() {
        list.sort();
    }
    r
}

fn front_matter(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n"))?;
    let end = rest.find("\n---")?;
    Some((&rest[..end], &rest[end..]))
}

/// Values of person keys in a parsed YAML tree (`path` is where it is; `offset` the lines before
/// the YAML in its file).
fn keys(v: &Value, path: &str, file: &str, text: &str, offset: usize, out: &mut BTreeSet<Finding>) {
    let Value::Object(m) = v else { return };
    for (k, child) in m {
        let full = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
        let lower = k.to_ascii_lowercase();
        let kind = PERSON_KEYS
            .iter()
            .find(|(key, _)| lower == *key || lower.ends_with(&format!("_{key}")))
            .map(|(_, kind)| *kind);
        let line =
            text.lines().position(|l| l.trim_start().starts_with(&format!("{k}:"))).map_or(1, |i| i + 1) + offset;
        match (kind, child) {
            (Some(kind), Value::String(s)) if !s.trim().is_empty() => {
                out.insert(Finding {
                    kind: kind.into(),
                    value: s.trim().into(),
                    file: file.into(),
                    line,
                    key: Some(full),
                });
            }
            (Some(kind), Value::Array(a)) => {
                for s in a.iter().filter_map(|x| x.as_str()) {
                    out.insert(Finding {
                        kind: kind.into(),
                        value: s.into(),
                        file: file.into(),
                        line,
                        key: Some(full.clone()),
                    });
                }
            }
            (_, Value::Object(_)) => keys(child, &full, file, text, offset, out),
            _ => {}
        }
    }
}

/// E-mail addresses, phone numbers (`tel:` links and numbers written out) and form targets in
/// a text.
fn scan_text(file: &str, text: &str, out: &mut BTreeSet<Finding>) {
    for (n, line) in text.lines().enumerate() {
        let ln = n + 1;
        for email in emails(line) {
            out.insert(Finding { kind: "email".into(), value: email, file: file.into(), line: ln, key: None });
        }
        for phone in phones(line) {
            out.insert(Finding { kind: "phone".into(), value: phone, file: file.into(), line: ln, key: None });
        }
        let lower = line.to_ascii_lowercase();
        // The built-in contact form: what it sends goes to the platform's form endpoint.
        if file.ends_with(".md") && lower.contains("contact_form(") {
            let value = "contact_form: name, e-mail address, phone if asked, message → the platform's form endpoint (policy `forms.endpoint`)";
            out.insert(Finding {
                kind: "form_target".into(),
                value: value.into(),
                file: file.into(),
                line: ln,
                key: None,
            });
        }
        let mut from = 0;
        while let Some(i) = lower[from..].find("<form") {
            let tag_start = from + i;
            let tag_end = lower[tag_start..].find('>').map_or(line.len(), |e| tag_start + e);
            let tag = &line[tag_start..tag_end];
            let action = attr(tag, "action").unwrap_or_else(|| "(this page)".into());
            out.insert(Finding { kind: "form_target".into(), value: action, file: file.into(), line: ln, key: None });
            from = tag_end.max(tag_start + 5);
        }
    }
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let i = lower.find(&format!("{name}="))?;
    let rest = &tag[i + name.len() + 1..];
    let v = match rest.chars().next()? {
        q @ ('"' | '\'') => rest[1..].split(q).next()?.to_string(),
        _ => rest.split([' ', '>']).next()?.to_string(),
    };
    Some(v)
}

/// E-mail addresses in a line (`name@domain.tld`, also inside `mailto:` links).
pub(crate) fn emails(line: &str) -> Vec<String> {
    let b = line.as_bytes();
    let local = |c: u8| c.is_ascii_alphanumeric() || b"._%+-".contains(&c);
    let domain = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'-';
    let mut out = Vec::new();
    for (i, &c) in b.iter().enumerate() {
        if c != b'@' {
            continue;
        }
        let mut s = i;
        while s > 0 && local(b[s - 1]) {
            s -= 1;
        }
        let mut e = i + 1;
        while e < b.len() && domain(b[e]) {
            e += 1;
        }
        let (l, d) = (&line[s..i], line[i + 1..e].trim_end_matches(['.', '-']));
        let tld_ok = d.rsplit('.').next().is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
        if !l.is_empty() && d.contains('.') && tld_ok && !l.starts_with('.') {
            out.push(format!("{l}@{d}").to_ascii_lowercase());
        }
    }
    out
}

/// Phone numbers in a line: `tel:` links, and numbers written with an international prefix or
/// in groups (`+33 1 23 45 67 89`, `01 23 45 67 89`, `(555) 123-4567`): 9 to 15 digits, in
/// groups separated by spaces, dots, dashes or parentheses. Dates and plain long numbers are not
/// phone numbers.
pub(crate) fn phones(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start_ok =
            (b[i] == b'+' || b[i] == b'(' || b[i].is_ascii_digit()) && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if !start_ok {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut digits = 0;
        let mut groups = 1;
        let mut last_sep: Option<u8> = None;
        while j < b.len() {
            let c = b[j];
            if c.is_ascii_digit() {
                digits += 1;
                last_sep = None;
            } else if matches!(c, b' ' | b'.' | b'-' | b'(' | b')') || (c == b'+' && j == i) {
                // Two separators in a row end the number, but for `) ` in `(555) 123`.
                if last_sep.is_some() && !(last_sep == Some(b')') && c == b' ') {
                    break;
                }
                if c != b'+' {
                    groups += 1;
                }
                last_sep = Some(c);
            } else {
                break;
            }
            j += 1;
        }
        let raw = line[i..j].trim_end_matches([' ', '.', '-', '(']);
        let date_like = raw.len() == 10 && raw.as_bytes().get(4) == Some(&b'-');
        let grouped = groups >= 3 || raw.starts_with('+');
        let glued = b.get(i + raw.len()).is_some_and(|c| c.is_ascii_alphanumeric());
        if (9..=15).contains(&digits) && grouped && !date_like && !glued {
            out.push(raw.trim().to_string());
            i = j;
        } else {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_addresses_and_numbers_not_dates() {
        assert_eq!(
            emails("write to <a href=\"mailto:Anne.Martin@boulangerie.fr\">Anne</a>."),
            vec!["anne.martin@boulangerie.fr"]
        );
        assert!(emails("@handle and a@b and x@y.z1").is_empty());
        assert_eq!(
            phones("Call +33 1 23 45 67 89 or 01.23.45.67.89 today"),
            vec!["+33 1 23 45 67 89", "01.23.45.67.89"]
        );
        assert_eq!(phones("(555) 123-4567"), vec!["(555) 123-4567"]);
        assert!(phones("on 2025-03-01, order 123456789012, version 1.2.3").is_empty());
    }
}
