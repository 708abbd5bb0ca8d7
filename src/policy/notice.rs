//! The platform's own pages: the notice that replaces a suspended site and the one that answers
//! at the URL of a withheld page, in the site's language.
//!
//! In: what happened, the language, the site's title and the policy's reason. Out: a whole HTML
//! page (escaped), which the build then finishes like any page, so it carries the badge and the
//! cookie notice. Never taken from a theme or a site: no partner template can reword or hide it.

use crate::util::text::escape_html;

/// Which notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// The whole site is suspended by the platform.
    Suspended,
    /// This page is withheld by the platform.
    Withheld,
}

struct Texts {
    suspended_title: &'static str,
    suspended: &'static str,
    withheld_title: &'static str,
    withheld: &'static str,
    reason: &'static str,
    home: &'static str,
}

fn texts(lang: &str) -> Texts {
    match lang.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase().as_str() {
        "fr" => Texts {
            suspended_title: "Site suspendu",
            suspended: "Ce site est suspendu par la plateforme qui l'héberge.",
            withheld_title: "Contenu retiré",
            withheld: "Ce contenu a été retiré par la plateforme qui héberge ce site.",
            reason: "Motif",
            home: "Accueil du site",
        },
        "de" => Texts {
            suspended_title: "Website gesperrt",
            suspended: "Diese Website wurde von der Plattform, die sie beherbergt, gesperrt.",
            withheld_title: "Inhalt zurückgehalten",
            withheld: "Dieser Inhalt wurde von der Plattform, die diese Website beherbergt, zurückgehalten.",
            reason: "Grund",
            home: "Startseite",
        },
        "nl" => Texts {
            suspended_title: "Site opgeschort",
            suspended: "Deze site is opgeschort door het platform dat haar host.",
            withheld_title: "Inhoud achtergehouden",
            withheld: "Deze inhoud is achtergehouden door het platform dat deze site host.",
            reason: "Reden",
            home: "Startpagina",
        },
        _ => Texts {
            suspended_title: "Site suspended",
            suspended: "This site is suspended by the platform that hosts it.",
            withheld_title: "Content withheld",
            withheld: "This content has been withheld by the platform that hosts this site.",
            reason: "Reason",
            home: "Home page",
        },
    }
}

/// The notice page: `home` is the site's home URL (linked from a withheld page's notice).
pub(crate) fn page(kind: Notice, lang: &str, site_title: &str, reason: &str, home: &str) -> String {
    let t = texts(lang);
    let (title, text) = match kind {
        Notice::Suspended => (t.suspended_title, t.suspended),
        Notice::Withheld => (t.withheld_title, t.withheld),
    };
    let reason =
        if reason.trim().is_empty() { String::new() } else { format!("<p>{}: {}</p>", t.reason, escape_html(reason)) };
    let back = match kind {
        Notice::Withheld => format!("<p><a href=\"{}\">{}</a></p>", escape_html(home), t.home),
        Notice::Suspended => String::new(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{title} · {site}</title>\
<style>body{{font:1.05rem/1.5 system-ui,sans-serif;max-width:36rem;margin:12vh auto;padding:0 1rem;color:#1f2a44}}</style></head>\n\
<body><main><h1>{title}</h1><p>{text}</p>{reason}{back}</main></body></html>\n",
        lang = escape_html(lang),
        site = escape_html(site_title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_in_the_language_and_escape_the_reason() {
        let p = page(Notice::Withheld, "fr", "Atelier <b>", "plainte <script>", "/");
        assert!(p.contains("Contenu retiré") && p.contains("Motif: plainte &lt;script&gt;"), "{p}");
        assert!(p.contains("Atelier &lt;b&gt;") && p.contains("href=\"/\""));
        let p = page(Notice::Suspended, "pt", "Site", "", "/");
        assert!(p.contains("Site suspended") && !p.contains("Reason"), "{p}");
    }
}
