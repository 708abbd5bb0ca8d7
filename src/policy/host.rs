//! The operator's part of what a site must say and send: the host named in every legal notice
//! (`host:`) and the form endpoint with the consent text of contact forms (`forms:`).
//!
//! In: the `host:` and `forms:` blocks of `policy.yaml`. Out: [`Host`] and [`Forms`] over their
//! built-in defaults, or diagnostics naming the policy file and line. Pure. sopixi itself stores
//! nothing a visitor sends: the endpoint is a service the operator runs or chooses.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::util::diag::Diagnostic;
use crate::util::yaml::any_key_line;

/// The hosting provider, as a legal notice must name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Host {
    /// Company name.
    pub name: String,
    /// Postal address.
    pub address: String,
    /// Phone number.
    pub phone: String,
    /// Web address.
    pub url: String,
}

impl Default for Host {
    fn default() -> Self {
        Host {
            name: "Sopixi".into(),
            address: "Sopixi, service hébergement, France".into(),
            phone: "+33 1 00 00 00 00".into(),
            url: "https://sopixi.com/".into(),
        }
    }
}

/// Where contact forms post, and the consent text beside their checkbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Forms {
    /// The endpoint's base URL (ends with `/`): a form posts to it followed by the form's id.
    pub endpoint: String,
    /// The consent checkbox's text by language; `en` is the fallback.
    pub consent: Vec<(String, String)>,
    /// How long the endpoint keeps a message, as the privacy page says it (`12 months`).
    pub retention: Vec<(String, String)>,
}

impl Default for Forms {
    fn default() -> Self {
        Forms {
            endpoint: "https://forms.sopixi.com/f/".into(),
            consent: vec![
                ("en".into(), "I agree that the data I enter is used to answer my message. It is kept for 12 months, then deleted.".into()),
                ("fr".into(), "J'accepte que les données saisies soient utilisées pour répondre à mon message. Elles sont conservées 12 mois, puis effacées.".into()),
            ],
            retention: vec![("en".into(), "12 months".into()), ("fr".into(), "12 mois".into())],
        }
    }
}

impl Forms {
    /// The consent text in `lang` (`fr-CA` → `fr`), else English.
    pub fn consent(&self, lang: &str) -> &str {
        pick(&self.consent, lang)
    }

    /// How long messages are kept, in `lang`.
    pub fn retention(&self, lang: &str) -> &str {
        pick(&self.retention, lang)
    }
}

fn pick<'a>(texts: &'a [(String, String)], lang: &str) -> &'a str {
    let lang = lang.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    texts
        .iter()
        .find(|(l, _)| *l == lang)
        .or_else(|| texts.iter().find(|(l, _)| l == "en"))
        .or_else(|| texts.first())
        .map_or("", |(_, t)| t.as_str())
}

/// `host:` as the policy writes it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHost {
    name: Option<String>,
    address: Option<String>,
    phone: Option<String>,
    url: Option<String>,
}

/// `forms:` as the policy writes it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawForms {
    endpoint: Option<String>,
    #[serde(default)]
    consent: BTreeMap<String, String>,
    #[serde(default)]
    retention: BTreeMap<String, String>,
}

fn is_web_address(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://")) && !url.contains(['"', '<', '>', ' ', '\''])
}

/// `host:` over the default.
pub(crate) fn host(file: &str, text: &str, raw: Option<RawHost>, errors: &mut Vec<Diagnostic>) -> Host {
    let mut h = Host::default();
    let Some(raw) = raw else { return h };
    for (key, value, slot) in [
        ("name", raw.name, &mut h.name),
        ("address", raw.address, &mut h.address),
        ("phone", raw.phone, &mut h.phone),
        ("url", raw.url, &mut h.url),
    ] {
        let Some(v) = value else { continue };
        if v.trim().is_empty() || key == "url" && !is_web_address(&v) {
            errors.push(
                Diagnostic::new(file, format!("`host.{key}` `{v}` cannot be printed in a legal notice"))
                    .at(any_key_line(text, key), None)
                    .hint("the legal notice of every site names the host: its name, address, phone and web address"),
            );
        }
        *slot = v;
    }
    h
}

/// `forms:` over the default.
pub(crate) fn forms(file: &str, text: &str, raw: Option<RawForms>, errors: &mut Vec<Diagnostic>) -> Forms {
    let mut f = Forms::default();
    let Some(raw) = raw else { return f };
    if let Some(mut e) = raw.endpoint {
        // https, or plain http to this machine (a form service tried out locally).
        let local = e.starts_with("http://127.0.0.1") || e.starts_with("http://localhost");
        if !(e.starts_with("https://") || local) || !is_web_address(&e) {
            errors.push(
                Diagnostic::new(file, format!("`forms.endpoint` `{e}` is not an https address"))
                    .at(any_key_line(text, "endpoint"), None)
                    .hint("forms carry personal data: the endpoint must be https, e.g. https://forms.example.com/f/"),
            );
        }
        if !e.ends_with('/') {
            e.push('/');
        }
        f.endpoint = e;
    }
    for (map, slot) in [(raw.consent, &mut f.consent), (raw.retention, &mut f.retention)] {
        for (lang, t) in map {
            if t.trim().is_empty() {
                errors.push(
                    Diagnostic::new(file, format!("`forms` text for `{lang}` is empty"))
                        .at(any_key_line(text, &lang), None)
                        .hint("the consent checkbox must say what the visitor agrees to"),
                );
            }
            let lang = lang.to_ascii_lowercase();
            match slot.iter_mut().find(|(l, _)| *l == lang) {
                Some((_, old)) => *old = t,
                None => slot.push((lang, t)),
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_host_read_over_the_defaults() {
        let mut errors = Vec::new();
        let raw: RawForms =
            crate::util::yaml::from_str("endpoint: https://f.example/x\nconsent: { de: Ja }\n").unwrap();
        let f = forms("policy.yaml", "", Some(raw), &mut errors);
        assert!(errors.is_empty());
        assert_eq!(f.endpoint, "https://f.example/x/");
        assert_eq!(f.consent("de"), "Ja");
        assert!(f.consent("fr-CA").starts_with("J'accepte"));
        let raw: RawForms = crate::util::yaml::from_str("endpoint: http://f.example/\n").unwrap();
        forms("policy.yaml", "forms:\n  endpoint: http://f.example/\n", Some(raw), &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, Some(2));
        let raw: RawHost = crate::util::yaml::from_str("name: ''\n").unwrap();
        host("policy.yaml", "", Some(raw), &mut errors);
        assert_eq!(errors.len(), 2);
    }
}
