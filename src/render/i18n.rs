//! UI strings and dates in the page's language: the `trans(key)` template function over the
//! theme's `i18n/LANG.yaml` files and the site's overrides of the same names, the localised `date`
//! filter, and the language of the page being rendered.
//!
//! In: the texts of the `i18n/*.yaml` files (read by `build`) and the site's languages. Out: the
//! strings by language, or diagnostics naming the file and line of a broken file. The page's
//! language reaches template functions through [`with_lang`] (Tera functions see only their
//! arguments): set on the rendering thread around each render, never shared between threads.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime};
use serde_json::Value;

use crate::util::diag::Diagnostic;
use crate::util::yaml;

thread_local! {
    static LANG: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `f` with `lang` as the language of what is rendered on this thread (restored after).
pub(crate) fn with_lang<R>(lang: &str, f: impl FnOnce() -> R) -> R {
    /// Puts the previous language back, also when `f` panics (the build catches page panics and
    /// goes on with the same thread).
    struct Restore(Option<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            LANG.with(|l| *l.borrow_mut() = before);
        }
    }
    let _restore = Restore(LANG.with(|l| l.replace(Some(lang.to_string()))));
    f()
}

/// The language of what is being rendered on this thread, if a render set one.
pub(crate) fn current_lang() -> Option<String> {
    LANG.with(|l| l.borrow().clone())
}

/// One `i18n/LANG.yaml` file: its language, what messages call it, its text.
pub(crate) struct StringsFile {
    /// The language (the file's stem).
    pub lang: String,
    /// `themes/x/i18n/fr.yaml`, `i18n/fr.yaml`.
    pub origin: String,
    /// The YAML text.
    pub text: String,
}

/// The UI strings of a site: the theme's files, then the site's (a site's key wins), by language.
#[derive(Debug, Default, Clone)]
pub(crate) struct Strings {
    by_lang: HashMap<String, HashMap<String, String>>,
    /// Where each language's strings were looked for, for messages.
    origins: HashMap<String, Vec<String>>,
    default: String,
}

impl Strings {
    /// Reads the files in order (theme first, then the site): nested keys are joined with `.`.
    pub(crate) fn load(default: &str, files: Vec<StringsFile>) -> Result<Strings, Vec<Diagnostic>> {
        let mut s = Strings { default: default.to_string(), ..Default::default() };
        let mut errors = Vec::new();
        for f in files {
            let value: yaml::Value = match yaml::from_str(&f.text) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(
                        Diagnostic::new(&f.origin, format!("invalid YAML: {}", e.message))
                            .at(e.line, e.column)
                            .hint("a strings file maps keys to texts, e.g. `read_more: Lire la suite`"),
                    );
                    continue;
                }
            };
            let mut flat = BTreeMap::new();
            match &value {
                yaml::Value::Mapping(_) => flatten("", &yaml::to_json(&value), &mut flat),
                yaml::Value::Null => {}
                _ => {
                    errors.push(
                        Diagnostic::new(&f.origin, "a strings file must map keys to texts")
                            .at(Some(1), None)
                            .hint("write one `key: text` per line"),
                    );
                    continue;
                }
            }
            s.origins.entry(f.lang.clone()).or_default().push(f.origin.clone());
            s.by_lang.entry(f.lang).or_default().extend(flat);
        }
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }

    /// The string `key` in `lang`, else in the default language; why not, when neither has it.
    pub(crate) fn get(&self, key: &str, lang: &str) -> Result<&str, String> {
        let base = lang.split('-').next().unwrap_or(lang);
        for l in [lang, base, self.default.as_str()] {
            if let Some(v) = self.by_lang.get(l).and_then(|m| m.get(key)) {
                return Ok(v);
            }
        }
        let looked: Vec<String> = [lang, self.default.as_str()]
            .iter()
            .flat_map(|l| self.origins.get(*l).cloned().unwrap_or_else(|| vec![format!("i18n/{l}.yaml (none)")]))
            .collect();
        let known: Vec<&str> =
            self.by_lang.get(lang).map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
        let hint = crate::util::diag::did_you_mean(key, known.iter().copied())
            .map(|k| format!("; did you mean `{k}`?"))
            .unwrap_or_default();
        Err(format!(
            "trans: no UI string `{key}` in `{lang}` (looked in {}){hint}; add `{key}: …` to i18n/{lang}.yaml in the site or the theme",
            looked.join(", ")
        ))
    }

    /// What the strings are made of, for `serve`'s reuse keys.
    pub(crate) fn hash_into(&self, h: &mut blake3::Hasher) {
        let mut langs: Vec<_> = self.by_lang.iter().collect();
        langs.sort_by(|a, b| a.0.cmp(b.0));
        for (l, m) in langs {
            let mut kv: Vec<_> = m.iter().collect();
            kv.sort();
            h.update(format!("{l}{kv:?}").as_bytes());
        }
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, x, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        Value::Null => {}
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// The chrono locale of a language code (`fr` → `fr_FR`, `fr-BE` → `fr_BE`), `None` when chrono
/// has none.
fn locale(lang: &str) -> Option<chrono::Locale> {
    let mut parts = lang.split(['-', '_']);
    let main = parts.next().unwrap_or("").to_ascii_lowercase();
    if let Some(region) = parts.next() {
        if let Ok(l) = chrono::Locale::try_from(format!("{main}_{}", region.to_ascii_uppercase()).as_str()) {
            return Some(l);
        }
    }
    let region = match main.as_str() {
        "en" => "GB",
        "fr" => "FR",
        "nl" => "NL",
        "de" => "DE",
        "es" => "ES",
        "it" => "IT",
        "pt" => "PT",
        "da" => "DK",
        "sv" => "SE",
        "nb" => "NO",
        "cs" => "CZ",
        "el" => "GR",
        "ja" => "JP",
        "ar" => "SA",
        other => return chrono::Locale::try_from(format!("{other}_{}", other.to_ascii_uppercase()).as_str()).ok(),
    };
    chrono::Locale::try_from(format!("{main}_{region}").as_str()).ok()
}

/// The long date pattern of a language (`3 octobre 2025`, `October 3, 2025`, `3. Oktober 2025`).
fn long_pattern(lang: &str) -> &'static str {
    match lang.split(['-', '_']).next().unwrap_or("") {
        "en" => "%B %-d, %Y",
        "de" | "da" | "nb" | "cs" => "%-d. %B %Y",
        "es" | "pt" => "%-d de %B de %Y",
        "ja" => "%Y年%-m月%-d日",
        _ => "%-d %B %Y",
    }
}

/// A date from front matter or a template (`2025-10-03`, RFC 3339, a Unix timestamp) formatted
/// in `lang`: `format` is a strftime pattern, or `long` / `short` for the language's own.
pub(crate) fn format_date(value: &Value, format: &str, lang: &str) -> Result<String, String> {
    let dt: DateTime<FixedOffset> = match value {
        Value::Number(n) => {
            let secs = n.as_i64().ok_or("date: a timestamp must be a whole number")?;
            DateTime::from_timestamp(secs, 0).ok_or("date: timestamp out of range")?.fixed_offset()
        }
        Value::String(s) => {
            let s = s.trim();
            if let Ok(d) = DateTime::parse_from_rfc3339(s) {
                d
            } else if let Ok(n) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
                n.and_utc().fixed_offset()
            } else if let Ok(d) = NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d") {
                d.and_hms_opt(0, 0, 0).ok_or("date: invalid date")?.and_utc().fixed_offset()
            } else {
                return Err(format!("date: `{s}` is not a date (write 2025-10-03 or RFC 3339)"));
            }
        }
        other => return Err(format!("date: the value must be a date, got {other}")),
    };
    let (pattern, long) = match format {
        "long" => (long_pattern(lang), true),
        "short" => ("%x", false),
        f => (f, false),
    };
    use std::fmt::Write;
    let mut text = String::new();
    let written = match locale(lang) {
        Some(l) => write!(text, "{}", dt.format_localized(pattern, l)),
        None => write!(text, "{}", dt.format(pattern)),
    };
    if written.is_err() {
        return Err(format!("date: `{pattern}` is not a valid date format"));
    }
    // French writes the first of the month as an ordinal: 1er octobre 2025.
    if long && lang.starts_with("fr") && dt.day() == 1 && text.starts_with("1 ") {
        text.replace_range(..1, "1er");
    }
    Ok(text)
}

/// Registers `trans(key, lang?)` and the localised `date(format?, lang?)` filter; without `lang`
/// both use the language of the page being rendered (else `default`).
pub(crate) fn register(tera: &mut tera::Tera, strings: std::sync::Arc<Strings>, default: &str) {
    let default = default.to_string();
    let d = default.clone();
    tera.register_function("trans", move |args: &HashMap<String, Value>| {
        let key = match args.get("key") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(tera::Error::msg(format!("trans: `key` must be text, got {other}"))),
            None => return Err(tera::Error::msg("trans: missing argument `key`, e.g. trans(key=\"read_more\")")),
        };
        let lang = lang_arg(args, &d)?;
        strings.get(&key, &lang).map(|s| Value::String(s.to_string())).map_err(tera::Error::msg)
    });
    tera.register_filter("date", move |v: &Value, args: &HashMap<String, Value>| {
        let format = match args.get("format") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(tera::Error::msg(format!("date: `format` must be text, got {other}"))),
            None => "%Y-%m-%d".to_string(),
        };
        let lang = match args.get("locale") {
            Some(Value::String(l)) => l.replace('_', "-"),
            _ => lang_arg(args, &default)?,
        };
        format_date(v, &format, &lang).map(Value::String).map_err(tera::Error::msg)
    });
}

/// The `lang` argument of a template function, else the current page's language, else `default`.
pub(crate) fn lang_arg(args: &HashMap<String, Value>, default: &str) -> tera::Result<String> {
    match args.get("lang") {
        Some(Value::String(l)) => Ok(l.clone()),
        Some(other) => Err(tera::Error::msg(format!("`lang` must be a language code, got {other}"))),
        None => Ok(current_lang().unwrap_or_else(|| default.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_in_the_page_language() {
        let d = json!("2025-10-03");
        assert_eq!(format_date(&d, "long", "fr").unwrap(), "3 octobre 2025");
        assert_eq!(format_date(&d, "long", "en").unwrap(), "October 3, 2025");
        assert_eq!(format_date(&d, "long", "de").unwrap(), "3. Oktober 2025");
        assert_eq!(format_date(&d, "long", "nl").unwrap(), "3 oktober 2025");
        assert_eq!(format_date(&json!("2025-10-01"), "long", "fr").unwrap(), "1er octobre 2025");
        assert_eq!(format_date(&d, "%A %d %B", "fr-BE").unwrap(), "vendredi 03 octobre");
        assert_eq!(format_date(&json!("2025-10-03T08:30:00+02:00"), "%H:%M", "fr").unwrap(), "08:30");
        assert!(format_date(&json!("soon"), "long", "fr").unwrap_err().contains("not a date"));
        assert!(format_date(&d, "%Q", "fr").unwrap_err().contains("not a valid date format"));
    }

    #[test]
    fn strings_fall_back_to_the_default_language_then_fail_clearly() {
        let files = vec![
            StringsFile {
                lang: "fr".into(),
                origin: "themes/t/i18n/fr.yaml".into(),
                text: "read_more: Lire la suite\nnav:\n  home: Accueil\n".into(),
            },
            StringsFile {
                lang: "en".into(),
                origin: "themes/t/i18n/en.yaml".into(),
                text: "read_more: Read more\n".into(),
            },
            StringsFile { lang: "en".into(), origin: "i18n/en.yaml".into(), text: "read_more: Continue\n".into() },
        ];
        let s = Strings::load("fr", files).unwrap();
        assert_eq!(s.get("read_more", "en").unwrap(), "Continue", "the site's file wins");
        assert_eq!(s.get("read_more", "fr").unwrap(), "Lire la suite");
        assert_eq!(s.get("nav.home", "en").unwrap(), "Accueil", "default language as fallback");
        let e = s.get("read_mor", "en").unwrap_err();
        assert!(e.contains("`read_mor`") && e.contains("did you mean `read_more`"), "{e}");
        let bad = Strings::load(
            "fr",
            vec![StringsFile { lang: "fr".into(), origin: "i18n/fr.yaml".into(), text: "a: [\n".into() }],
        );
        assert!(bad.unwrap_err()[0].line.is_some());
    }

    #[test]
    fn the_current_language_is_per_thread_and_restored() {
        assert_eq!(current_lang(), None);
        with_lang("en", || {
            assert_eq!(current_lang().as_deref(), Some("en"));
            with_lang("fr", || assert_eq!(current_lang().as_deref(), Some("fr")));
            assert_eq!(current_lang().as_deref(), Some("en"));
            std::thread::spawn(|| assert_eq!(current_lang(), None)).join().unwrap();
        });
        assert_eq!(current_lang(), None);
        let caught = std::panic::catch_unwind(|| with_lang("nl", || panic!("a page's panic")));
        assert!(caught.is_err());
        assert_eq!(current_lang(), None, "restored after a panic");
    }
}
