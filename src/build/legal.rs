//! The pages a professional site must have, made from `site.yaml` and the platform policy: the
//! legal notice (`legal:` + the policy's `host:`), the privacy page (what the site collects: the
//! cookie choice, its contact forms, its third-party embeds, the scripts it runs with consent),
//! and the thank-you page contact forms return to. Each is added as a Markdown file of the
//! content tree in every language of the site, so that the theme's `page.html` shows it like any
//! page (sitemap, translations and menus included); a file of the site at the same place wins.
//!
//! In: the configuration, the policy, the parsed pages and the template and static texts (for
//! what the site uses). Out: `(path under content/, Markdown text)` pairs, the `site.legal`
//! value, and the warning of a site that sells without a legal notice. Never reads the disk.

use std::collections::BTreeSet;

use memchr::memmem;
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::policy::Policy;
use crate::site::config::{Config, SITE_FILE};
use crate::site::content::Parsed;
use crate::util::diag::Diagnostic;

/// The legal notice's file (its translations are `mentions-legales.LANG.md`).
pub(crate) const LEGAL: &str = "mentions-legales.md";
/// The privacy page's file.
pub(crate) const PRIVACY: &str = "confidentialite.md";
/// The page contact forms return to.
pub(crate) const THANKS: &str = "merci.md";

/// A third party whose frame a page can embed once the visitor accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Provider {
    /// The name `data-consent` carries (`youtube`).
    pub id: &'static str,
    /// The name a visitor reads (`YouTube`).
    pub name: &'static str,
    /// Who runs it.
    pub company: &'static str,
    /// Its privacy policy.
    pub policy: &'static str,
}

/// Every provider the built-in shortcodes embed.
pub(crate) const PROVIDERS: &[Provider] = &[
    Provider {
        id: "youtube",
        name: "YouTube",
        company: "Google Ireland Limited",
        policy: "https://policies.google.com/privacy",
    },
    Provider { id: "vimeo", name: "Vimeo", company: "Vimeo.com, Inc.", policy: "https://vimeo.com/privacy" },
    Provider {
        id: "openstreetmap",
        name: "OpenStreetMap",
        company: "OpenStreetMap Foundation",
        policy: "https://osmfoundation.org/wiki/Privacy_Policy",
    },
];

/// What the site's pages and templates use that the privacy page must name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Uses {
    /// A page calls `contact_form`.
    pub form: bool,
    /// Embedded providers, by id.
    pub providers: BTreeSet<&'static str>,
    /// `data-consent` names of the templates' and static files' own scripts (`analytics`).
    pub scripts: BTreeSet<String>,
}

impl Uses {
    pub(crate) fn merge(mut self, other: Uses) -> Uses {
        self.form |= other.form;
        self.providers.extend(other.providers);
        self.scripts.extend(other.scripts);
        self
    }

    /// Adds what Markdown body `body` uses.
    pub(crate) fn add_body(&mut self, body: &str) {
        let u = body_uses(body);
        self.form |= u.form;
        self.providers.extend(u.providers);
    }
}

/// What one Markdown body uses: its `contact_form`, `map` and `video` calls (a video only when
/// its arguments name YouTube or Vimeo).
fn body_uses(body: &str) -> Uses {
    let mut u = Uses::default();
    if memmem::find(body.as_bytes(), b"{{").is_none() && memmem::find(body.as_bytes(), b"{%").is_none() {
        return u;
    }
    u.form = memmem::find(body.as_bytes(), b"contact_form(").is_some();
    for at in memmem::find_iter(body.as_bytes(), b"map(") {
        if at == 0 || !body.as_bytes()[at - 1].is_ascii_alphanumeric() && body.as_bytes()[at - 1] != b'_' {
            u.providers.insert("openstreetmap");
        }
    }
    for at in memmem::find_iter(body.as_bytes(), b"video(") {
        let end = body[at..].find(')').map_or(body.len(), |e| at + e);
        let args = &body[at..end];
        if args.contains("youtu") {
            u.providers.insert("youtube");
        }
        if args.contains("vimeo.com") {
            u.providers.insert("vimeo");
        }
    }
    u
}

/// The `data-consent="NAME"` values written in a template or static file.
fn consent_names(text: &str, into: &mut BTreeSet<String>) {
    for at in memmem::find_iter(text.as_bytes(), b"data-consent=") {
        let rest = &text[at + "data-consent=".len()..];
        let rest = rest.trim_start_matches(['"', '\'']);
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
        if !name.is_empty() {
            into.insert(name);
        }
    }
}

/// What the pages (in parallel) and the given template and static texts use.
pub(crate) fn uses<'a>(pages: &[Parsed], texts: impl Iterator<Item = &'a str>) -> Uses {
    let mut u = pages.par_iter().map(|p| body_uses(&p.body)).reduce(Uses::default, Uses::merge);
    for t in texts {
        consent_names(t, &mut u.scripts);
    }
    u
}

/// Text for Markdown: HTML and Markdown punctuation escaped, braces as entities (so that no
/// shortcode is read in it), one line.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A YAML string of front matter.
fn yq(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn fr(lang: &str) -> bool {
    lang.split(['-', '_']).next() == Some("fr")
}

/// The file of `base` in `lang` (`mentions-legales.md` → `mentions-legales.en.md`).
fn file_in(config: &Config, base: &str, lang: &str) -> String {
    if lang == config.site.language {
        base.to_string()
    } else {
        format!("{}.{lang}.md", base.trim_end_matches(".md"))
    }
}

/// Front matter of a generated page: last in the root section's order, out of the search index,
/// and `extra.generated` (`legal`, `privacy`, `thanks`) so that a theme can leave it out of a list.
fn front(title: &str, slug: &str, description: &str, generated: &str) -> String {
    format!(
        "---\ntitle: {}\nslug: {}\ndescription: {}\nsearch: false\nweight: 10000\nextra: {{ generated: {generated} }}\n---\n",
        yq(title),
        yq(slug),
        yq(description)
    )
}

/// The legal notice in `lang`.
fn legal_page(config: &Config, policy: &Policy, lang: &str) -> Option<(String, String)> {
    let l = config.site.legal.as_ref()?;
    let f = fr(lang);
    let t = |fr_text: &'static str, en: &'static str| if f { fr_text } else { en };
    let mut s = front(
        t("Mentions légales", "Legal notice"),
        t("mentions-legales", "legal-notice"),
        t(
            "Éditeur, directeur de la publication et hébergeur du site.",
            "Publisher, director of publication and host of this site.",
        ),
        "legal",
    );
    s.push_str(&format!("## {}\n\n", t("Éditeur du site", "Publisher")));
    let mut who = md(&l.publisher);
    if let Some(form) = &l.legal_form {
        who.push_str(&format!(", {}", md(form)));
    }
    if let Some(c) = &l.share_capital {
        who.push_str(&format!("{} {}", t(", au capital de", ", share capital"), md(c)));
    }
    let mut lines = vec![format!("**{who}**"), format!("{} {}", t("Adresse :", "Address:"), md(&l.address))];
    if let Some(r) = &l.registration {
        lines.push(format!("{} {}", t("Immatriculation :", "Registration:"), md(r)));
    }
    if let Some(v) = &l.vat {
        lines.push(format!("{} {}", t("TVA intracommunautaire :", "VAT number:"), md(v)));
    }
    if let Some(e) = &l.email {
        lines.push(format!("{} <{}>", t("Courriel :", "E-mail:"), md(e).replace('\\', "")));
    }
    if let Some(p) = &l.phone {
        lines.push(format!("{} {}", t("Téléphone :", "Phone:"), md(p)));
    }
    s.push_str(&lines.join("  \n"));
    s.push_str(&format!(
        "\n\n## {}\n\n{}\n\n",
        t("Directeur de la publication", "Director of publication"),
        md(&l.director)
    ));
    let h = &policy.host;
    s.push_str(&format!(
        "## {}\n\n**{}**  \n{}  \n{} {}  \n<{}>\n\n",
        t("Hébergeur", "Host"),
        md(&h.name),
        md(&h.address),
        t("Téléphone :", "Phone:"),
        md(&h.phone),
        h.url
    ));
    s.push_str(&format!(
        "## {}\n\n{}\n",
        t("Données personnelles", "Personal data"),
        t(
            "Ce que ce site recueille, pourquoi et pour combien de temps : voir la [politique de confidentialité](@/confidentialite.md).",
            "What this site collects, why and for how long: see the [privacy policy](@/confidentialite.md)."
        )
    ));
    Some((file_in(config, LEGAL, lang), s))
}

/// The privacy page in `lang`: what the site collects, from what it uses.
fn privacy_page(config: &Config, policy: &Policy, uses: &Uses, lang: &str) -> Option<(String, String)> {
    let l = config.site.legal.as_ref()?;
    let f = fr(lang);
    let t = |fr_text: &'static str, en: &'static str| if f { fr_text } else { en };
    let mut s = front(
        t("Politique de confidentialité", "Privacy policy"),
        t("confidentialite", "privacy"),
        t(
            "Les données que ce site recueille, pourquoi, et vos droits.",
            "The data this site collects, why, and your rights.",
        ),
        "privacy",
    );
    let contact =
        l.email.as_deref().map(|e| format!("<{}>", md(e).replace('\\', ""))).unwrap_or_else(|| md(&l.address));
    s.push_str(&format!(
        "## {}\n\n{} **{}** ({}).\n\n",
        t("Responsable du traitement", "Who is responsible"),
        t("Les données de ce site sont traitées par", "The data of this site is handled by"),
        md(&l.publisher),
        contact
    ));
    s.push_str(&format!("## {}\n\n", t("Ce que ce site recueille", "What this site collects")));
    s.push_str(t(
        "- **Votre choix sur les cookies** : enregistré dans votre navigateur (stockage local), jamais envoyé. Vous pouvez le changer à tout moment par le lien « Paramètres des cookies » en bas de chaque page.\n",
        "- **Your cookie choice**: kept in your browser (local storage), never sent. You can change it at any time with the \"Cookie settings\" link at the bottom of every page.\n",
    ));
    if uses.form {
        s.push_str(&format!(
            "{} {} ({}) {} {}.\n",
            t(
                "- **Formulaire de contact** : votre nom, votre adresse électronique et votre message, envoyés seulement quand vous validez le formulaire et cochez la case de consentement, pour vous répondre. Ils sont reçus par le service de formulaires de",
                "- **Contact form**: your name, e-mail address and message, sent only when you submit the form and tick the consent box, to answer you. They are received by the form service of"
            ),
            md(&policy.host.name),
            md(&policy.forms.endpoint).replace('\\', ""),
            t("et conservés", "and kept for"),
            md(policy.forms.retention(lang))
        ));
    }
    for p in PROVIDERS.iter().filter(|p| uses.providers.contains(p.id)) {
        s.push_str(&format!(
            "- **{}** ({}) : {} [{}]({}).\n",
            p.name,
            md(p.company),
            t(
                "le contenu intégré n'est chargé qu'après votre accord, donné sur la page ou dans les paramètres des cookies ; il peut alors déposer des cookies et recevoir votre adresse IP. Voir sa",
                "embedded content loads only once you accept it, on the page or in the cookie settings; it may then set cookies and receives your IP address. See its"
            ),
            t("politique de confidentialité", "privacy policy"),
            p.policy
        ));
    }
    for name in &uses.scripts {
        s.push_str(&format!(
            "- **{}** : {}\n",
            md(name),
            t(
                "un script qui ne s'exécute qu'après votre accord dans les paramètres des cookies.",
                "a script that runs only once you accept it in the cookie settings."
            )
        ));
    }
    s.push_str(&format!(
        "\n## {}\n\n{} {}\n",
        t("Vos droits", "Your rights"),
        t(
            "Vous pouvez demander l'accès à vos données, leur rectification ou leur effacement, et vous opposer à leur traitement, en écrivant à",
            "You may ask to see, correct or erase your data, or object to its use, by writing to"
        ),
        contact
    ));
    s.push_str(t(
        "Vous pouvez aussi adresser une réclamation à la CNIL (<https://www.cnil.fr/>).\n",
        "You may also complain to your data protection authority (in France, the CNIL: <https://www.cnil.fr/>).\n",
    ));
    Some((file_in(config, PRIVACY, lang), s))
}

/// The thank-you page in `lang`.
fn thanks_page(config: &Config, lang: &str) -> (String, String) {
    let f = fr(lang);
    let t = |fr_text: &'static str, en: &'static str| if f { fr_text } else { en };
    let mut s = front(
        t("Merci", "Thank you"),
        t("merci", "thanks"),
        t("Votre message est envoyé.", "Your message was sent."),
        "thanks",
    );
    s.push_str(t(
        "Votre message est bien envoyé. Nous vous répondrons dès que possible.\n\n[Revenir à l'accueil](@/_index.md)\n",
        "Your message was sent. We will answer as soon as we can.\n\n[Back to the home page](@/_index.md)\n",
    ));
    (file_in(config, THANKS, lang), s)
}

/// The Markdown files to add to the content tree, in every language of the site.
pub(crate) fn pages(config: &Config, policy: &Policy, uses: &Uses) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for lang in config.languages() {
        out.extend(legal_page(config, policy, lang));
        out.extend(privacy_page(config, policy, uses, lang));
        if uses.form {
            out.push(thanks_page(config, lang));
        }
    }
    out
}

/// `site.legal` in `lang` (for the footer link): the notice's and the privacy page's address and
/// title, given how to find a content file's URL in a language.
pub(crate) fn value(config: &Config, lang: &str, url: impl Fn(&str) -> Option<String>) -> Option<Value> {
    config.site.legal.as_ref()?;
    let f = fr(lang);
    Some(json!({
        "url": url(LEGAL),
        "title": if f { "Mentions légales" } else { "Legal notice" },
        "privacy_url": url(PRIVACY),
        "privacy_title": if f { "Confidentialité" } else { "Privacy" },
    }))
}

/// The warning of a site that sells (pages with a `price`) or shows a business address without
/// a `legal:` block.
pub(crate) fn missing_notice(config: &Config, text: &str, pages: &[Parsed]) -> Option<Diagnostic> {
    if config.site.legal.is_some() {
        return None;
    }
    let sells = pages.iter().find(|p| p.front.price.is_some());
    let why = match (sells, &config.site.business) {
        (Some(p), _) => format!("the site sells ({} has a price)", crate::site::content::diag_path(&p.rel)),
        (None, Some(_)) => "the site shows a business address (`business:`)".to_string(),
        (None, None) => return None,
    };
    Some(
        Diagnostic::new(SITE_FILE, format!("{why} but has no legal notice"))
            .at(crate::util::yaml::key_line(text, "business").or(Some(1)), None)
            .hint("French law asks every professional site for one: add a `legal:` block (publisher, address, registration, director) and sopixi makes the page"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_body_uses() {
        let u = body_uses("Hi {{ video(src=\"https://youtu.be/x\") }} {{ map(lat=1, lon=2) }}\n{{ contact_form() }}");
        assert!(u.form);
        assert_eq!(u.providers.iter().copied().collect::<Vec<_>>(), vec!["openstreetmap", "youtube"]);
        let u = body_uses("{{ video(src=\"clip.mp4\") }} sitemap(x)");
        assert_eq!(u, Uses::default());
        let mut names = BTreeSet::new();
        consent_names("<script type=\"text/plain\" data-consent=\"analytics\" src=x></script>", &mut names);
        assert!(names.contains("analytics"));
    }

    #[test]
    fn markdown_text_cannot_call_a_shortcode_or_format() {
        assert_eq!(md("A*B {{ x() }} <i>"), "A\\*B &#123;&#123; x\\(\\) &#125;&#125; &lt;i&gt;");
    }
}
