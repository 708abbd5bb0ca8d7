//! What search engines and social networks read in a page's `<head>`: the canonical link, Open
//! Graph and Twitter card tags (with the page's own image, `extra.image`, or its generated share
//! card), and schema.org JSON-LD — `WebSite` and the business (`LocalBusiness` or the subtype of
//! `business.kind`, with its opening hours) on a language's home page, `Product` on a page with a
//! price, `BlogPosting` on a dated page, `WebPage` or `CollectionPage` elsewhere.
//!
//! In: the configuration, a page's context entries (`page`, `section`, `term`, `taxonomy`), its
//! path and language, and the build's images (for cards). Out: the `seo` template value, an HTML
//! fragment themes print in `<head>` with `{{ seo | safe }}`. Every value is escaped; JSON-LD
//! cannot close its `<script>`. Made only for themes that print it (a theme that never names
//! `seo` costs nothing and gets no cards).

use serde_json::{json, Map, Value};

use crate::images::Images;
use crate::site::config::Config;
use crate::util::text::escape_html;

/// `fr` → `fr_FR`, `en` → `en_GB`, `pt-BR` → `pt_BR`.
fn locale(lang: &str) -> String {
    let mut parts = lang.split(['-', '_']);
    let main = parts.next().unwrap_or("en").to_ascii_lowercase();
    match parts.next() {
        Some(region) => format!("{main}_{}", region.to_ascii_uppercase()),
        None => match main.as_str() {
            "en" => "en_GB".into(),
            "ca" => "ca_ES".into(),
            "da" => "da_DK".into(),
            "el" => "el_GR".into(),
            "ja" => "ja_JP".into(),
            "ko" => "ko_KR".into(),
            "sv" => "sv_SE".into(),
            "zh" => "zh_CN".into(),
            m => format!("{m}_{}", m.to_ascii_uppercase()),
        },
    }
}

fn text<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a str> {
    v?.get(key)?.as_str().filter(|s| !s.trim().is_empty())
}

/// An absolute URL for an image a page names: as it is when absolute, under the site's base URL
/// when it starts with `/`, beside the page otherwise.
fn image_url(config: &Config, page_url: &str, src: &str) -> String {
    if src.starts_with("https://") || src.starts_with("http://") {
        src.to_string()
    } else if let Some(rest) = src.strip_prefix('/') {
        config.permalink(rest)
    } else {
        format!("{}{}", if page_url.ends_with('/') { page_url.to_string() } else { format!("{page_url}/") }, src)
    }
}

/// JSON for a `<script type="application/ld+json">`: `<` written as `\u003c`, so that nothing in
/// it can end the script.
fn ld(v: &Value) -> String {
    format!(
        "<script type=\"application/ld+json\">{}</script>",
        serde_json::to_string(v).unwrap_or_default().replace('<', "\\u003c")
    )
}

/// The `seo` value of one page: its head tags, cards planned in `images`.
pub(crate) fn tags(config: &Config, images: &Images, lang: &str, path: &str, entries: &Map<String, Value>) -> String {
    let site = config.site.languages.get(lang);
    let site_name = site.and_then(|l| l.title.as_deref()).unwrap_or(&config.site.title);
    let site_description = site.and_then(|l| l.description.as_deref()).unwrap_or(&config.site.description);
    let page = entries.get("page");
    let section = entries.get("section");
    let item = page.or(section);
    let url = config.permalink(path);
    let home = path == config.language_root(lang);
    let title = text(page, "title")
        .or_else(|| if home { None } else { text(section, "title") })
        .or_else(|| text(entries.get("term"), "name"))
        .or_else(|| text(entries.get("taxonomy"), "name"))
        .unwrap_or(site_name);
    let description = text(item, "description").unwrap_or(site_description);
    let own_image = item.and_then(|v| v.get("extra")).and_then(|e| text(Some(e), "image"));
    let (image, w, h) = match own_image {
        Some(src) => (image_url(config, &url, src), None, None),
        None => {
            let (u, w, h) = images.card(title, site_name);
            (u, Some(w), Some(h))
        }
    };
    let e = escape_html;
    let kind = if page.is_some_and(|p| p.get("price").is_some_and(|v| !v.is_null())) {
        "product"
    } else if page.is_some_and(|p| p.get("date").is_some_and(|v| !v.is_null())) {
        "article"
    } else {
        "website"
    };
    let mut s = String::with_capacity(1500);
    let mut meta = |attr: &str, name: &str, value: &str| {
        s.push_str(&format!("<meta {attr}=\"{name}\" content=\"{}\">", e(value)));
    };
    meta("property", "og:type", kind);
    meta("property", "og:site_name", site_name);
    meta("property", "og:title", title);
    meta("property", "og:description", description);
    meta("property", "og:url", &url);
    meta("property", "og:locale", &locale(lang));
    meta("property", "og:image", &image);
    if let (Some(w), Some(h)) = (w, h) {
        meta("property", "og:image:width", &w.to_string());
        meta("property", "og:image:height", &h.to_string());
    }
    meta("property", "og:image:alt", title);
    meta("name", "twitter:card", "summary_large_image");
    meta("name", "twitter:title", title);
    meta("name", "twitter:description", description);
    meta("name", "twitter:image", &image);
    let mut out = format!("<link rel=\"canonical\" href=\"{}\">", e(&url));
    out.push_str(&s);
    let listing = section.is_some() || entries.contains_key("term") || entries.contains_key("taxonomy");
    for v in json_ld(config, lang, &url, title, description, &image, home, page, listing) {
        out.push_str(&ld(&v));
    }
    out
}

/// The JSON-LD objects of a page.
#[allow(clippy::too_many_arguments)]
fn json_ld(
    config: &Config,
    lang: &str,
    url: &str,
    title: &str,
    description: &str,
    image: &str,
    home: bool,
    page: Option<&Value>,
    listing: bool,
) -> Vec<Value> {
    let site_name = config.site.languages.get(lang).and_then(|l| l.title.as_deref()).unwrap_or(&config.site.title);
    if home {
        let mut out = vec![json!({
            "@context": "https://schema.org", "@type": "WebSite",
            "name": site_name, "url": url, "inLanguage": lang, "description": description,
        })];
        if let Some(b) = &config.site.business {
            out.push(b.json_ld(site_name, url, Some(image)));
        }
        return out;
    }
    let publisher = config.site.author.clone().unwrap_or_else(|| site_name.to_string());
    if let Some(p) = page {
        if let Some(price) = p.get("price").filter(|v| !v.is_null()) {
            let extra = p.get("extra");
            let mut offer = json!({
                "@type": "Offer", "price": price, "priceCurrency": p.get("currency").cloned().unwrap_or(json!("EUR")),
                "availability": if extra.and_then(|e| e.get("sold_out")).and_then(Value::as_bool) == Some(true) {
                    "https://schema.org/OutOfStock" } else { "https://schema.org/InStock" },
                "url": text(Some(p), "buy_url").unwrap_or(url),
            });
            if let Some(b) = &config.site.business {
                offer["seller"] = json!({"@type": b.kind, "name": b.name.as_deref().unwrap_or(site_name)});
            }
            let mut v = json!({
                "@context": "https://schema.org", "@type": "Product",
                "name": title, "description": description, "image": image, "url": url,
                "brand": {"@type": "Brand", "name": publisher}, "offers": offer,
            });
            if let Some(sku) = extra.and_then(|e| e.get("sku")).filter(|v| !v.is_null()) {
                v["sku"] = sku.clone();
            }
            return vec![v];
        }
        if let Some(date) = text(Some(p), "date") {
            return vec![json!({
                "@context": "https://schema.org", "@type": "BlogPosting",
                "headline": title, "description": description, "image": image, "url": url,
                "mainEntityOfPage": url, "inLanguage": lang,
                "datePublished": date, "dateModified": text(Some(p), "updated").unwrap_or(date),
                "author": {"@type": "Organization", "name": publisher},
                "publisher": {"@type": "Organization", "name": publisher},
            })];
        }
        return vec![json!({
            "@context": "https://schema.org", "@type": "WebPage",
            "name": title, "description": description, "url": url, "inLanguage": lang,
        })];
    }
    vec![json!({
        "@context": "https://schema.org", "@type": if listing { "CollectionPage" } else { "WebPage" },
        "name": title, "description": description, "url": url, "inLanguage": lang,
    })]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_and_image_urls() {
        assert_eq!(locale("fr"), "fr_FR");
        assert_eq!(locale("pt-br"), "pt_BR");
        assert_eq!(locale("en"), "en_GB");
        let c = Config::load("title: t\nbase_url: https://x.org/\n", &Default::default()).unwrap();
        assert_eq!(image_url(&c, "https://x.org/a/", "b.jpg"), "https://x.org/a/b.jpg");
        assert_eq!(image_url(&c, "https://x.org/a/", "/i/b.jpg"), "https://x.org/i/b.jpg");
        assert_eq!(
            ld(&json!({"a": "</script>"})),
            "<script type=\"application/ld+json\">{\"a\":\"\\u003c/script>\"}</script>"
        );
    }
}
