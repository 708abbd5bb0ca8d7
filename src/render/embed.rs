//! Third-party frames that wait for consent: what the `video` shortcode makes of a YouTube or
//! Vimeo address and the `map` shortcode of a position (OpenStreetMap), and the texts of their
//! placeholders. The placeholder is local (a poster the build resizes, the provider's name, a
//! button); the platform script puts the frame in its place only once the visitor accepts the
//! provider (`data-consent`), so that nothing is asked of another host before.
//!
//! In: a shortcode's arguments and the page's language. Out: the `embed` value of its template
//! (`provider`, `name`, `src` of the frame, `link` to open it on the provider's site, `title`,
//! `texts`), or `None` for a video that is a file of the site. Pure.

use serde_json::{json, Map, Value};

fn fr(lang: &str) -> bool {
    lang.split(['-', '_']).next() == Some("fr")
}

/// A YouTube video id: 11 characters of `A-Z a-z 0-9 _ -`.
fn youtube_id(s: &str) -> Option<&str> {
    let id = s.split(['?', '&', '#', '/']).next()?;
    (id.len() == 11 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')).then_some(id)
}

/// `(provider id, name, frame URL, page URL)` of a YouTube or Vimeo address.
pub(crate) fn video_source(src: &str) -> Option<(&'static str, &'static str, String, String)> {
    let rest = src.strip_prefix("https://").or_else(|| src.strip_prefix("http://"))?;
    let rest = rest.strip_prefix("www.").or_else(|| rest.strip_prefix("m.")).unwrap_or(rest);
    let start = src
        .split_once(['?', '&'])
        .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("t=").or_else(|| kv.strip_prefix("start="))))
        .map(|t| t.trim_end_matches('s'))
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
    let youtube = |id: &str| {
        let q = start.map(|s| format!("?start={s}")).unwrap_or_default();
        (
            "youtube",
            "YouTube",
            format!("https://www.youtube-nocookie.com/embed/{id}{q}"),
            format!("https://www.youtube.com/watch?v={id}"),
        )
    };
    if let Some(r) = rest.strip_prefix("youtu.be/") {
        return youtube_id(r).map(youtube);
    }
    if let Some(r) = rest.strip_prefix("youtube.com/").or_else(|| rest.strip_prefix("youtube-nocookie.com/")) {
        if let Some(q) = r.strip_prefix("watch?") {
            return q.split('&').find_map(|kv| kv.strip_prefix("v=")).and_then(youtube_id).map(youtube);
        }
        for prefix in ["embed/", "shorts/", "live/", "v/"] {
            if let Some(id) = r.strip_prefix(prefix) {
                return youtube_id(id).map(youtube);
            }
        }
        return None;
    }
    let vimeo = rest.strip_prefix("player.vimeo.com/video/").or_else(|| rest.strip_prefix("vimeo.com/"))?;
    let id: String = vimeo.chars().take_while(char::is_ascii_digit).collect();
    (!id.is_empty()).then(|| {
        ("vimeo", "Vimeo", format!("https://player.vimeo.com/video/{id}?dnt=1"), format!("https://vimeo.com/{id}"))
    })
}

fn number(args: &Map<String, Value>, key: &str) -> Option<f64> {
    match args.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The placeholder's texts for `provider` (`name`) in `lang`; `kind` is `video` or `map`.
fn texts(name: &str, kind: &str, lang: &str) -> Value {
    if fr(lang) {
        let (what, load) =
            if kind == "map" { ("Cette carte", "Afficher la carte") } else { ("Cette vidéo", "Charger la vidéo") };
        json!({
            "notice": format!("{what} est fournie par {name}. Si vous la chargez, {name} peut déposer des cookies et connaîtra votre adresse IP."),
            "load": format!("{load} ({name})"),
            "open": format!("Ouvrir sur {name}"),
        })
    } else {
        let (what, load) = if kind == "map" { ("This map", "Show the map") } else { ("This video", "Load the video") };
        json!({
            "notice": format!("{what} is provided by {name}. If you load it, {name} may set cookies and will see your IP address."),
            "load": format!("{load} ({name})"),
            "open": format!("Open on {name}"),
        })
    }
}

/// The `embed` value of a `video` call: `None` when its `src` is not a YouTube or Vimeo address.
pub(crate) fn video(args: &Map<String, Value>, lang: &str) -> Option<Value> {
    let src = args.get("src")?.as_str()?;
    let (id, name, frame, link) = video_source(src)?;
    let title = args.get("title").or_else(|| args.get("caption")).and_then(Value::as_str).unwrap_or(name);
    Some(json!({
        "provider": id, "name": name, "src": frame, "link": link, "title": title,
        "texts": texts(name, "video", lang),
    }))
}

/// The `embed` value of a `map` call: `lat`, `lon` (else the business's position) and `zoom`
/// (1 to 19, 16 by default); what is missing or wrong otherwise.
pub(crate) fn map(args: &Map<String, Value>, business_geo: Option<(f64, f64)>, lang: &str) -> Result<Value, String> {
    let (lat, lon) = match (number(args, "lat"), number(args, "lon")) {
        (Some(a), Some(o)) => (a, o),
        (None, None) => business_geo
            .ok_or("`map` needs `lat` and `lon` (e.g. map(lat=45.764, lon=4.836)), or `business.geo` in site.yaml")?,
        _ => return Err("`map` needs both `lat` and `lon`".into()),
    };
    if !(-85.0..=85.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(format!("`map`: {lat}, {lon} is not a position a map can show"));
    }
    let zoom = number(args, "zoom").unwrap_or(16.0).round();
    if !(1.0..=19.0).contains(&zoom) {
        return Err(format!("`map`: zoom {zoom} is not between 1 and 19"));
    }
    // The box the frame shows: about 800 × 450 pixels of map tiles around the point.
    let dlon = 360.0 / 2f64.powf(zoom) * 800.0 / 256.0 / 2.0;
    let dlat = dlon * 0.5625 * lat.to_radians().cos();
    let name = "OpenStreetMap";
    let title = args.get("title").or_else(|| args.get("caption")).and_then(Value::as_str).unwrap_or(name);
    Ok(json!({
        "provider": "openstreetmap", "name": name, "title": title,
        "src": format!(
            "https://www.openstreetmap.org/export/embed.html?bbox={:.5}%2C{:.5}%2C{:.5}%2C{:.5}&layer=mapnik&marker={lat:.5}%2C{lon:.5}",
            lon - dlon, lat - dlat, lon + dlon, lat + dlat
        ),
        "link": format!("https://www.openstreetmap.org/?mlat={lat:.5}&mlon={lon:.5}#map={zoom}/{lat:.5}/{lon:.5}"),
        "texts": texts(name, "map", lang),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_addresses() {
        let y = |s: &str| video_source(s).map(|v| v.2);
        let want = Some("https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ".to_string());
        assert_eq!(y("https://www.youtube.com/watch?v=dQw4w9WgXcQ"), want);
        assert_eq!(y("https://youtu.be/dQw4w9WgXcQ"), want);
        assert_eq!(y("https://www.youtube.com/shorts/dQw4w9WgXcQ"), want);
        assert_eq!(y("https://m.youtube.com/watch?feature=x&v=dQw4w9WgXcQ"), want);
        assert_eq!(
            y("https://youtu.be/dQw4w9WgXcQ?t=42").unwrap(),
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=42"
        );
        assert_eq!(y("https://vimeo.com/76979871").unwrap(), "https://player.vimeo.com/video/76979871?dnt=1");
        assert_eq!(y("https://www.youtube.com/watch?v=short"), None);
        assert_eq!(y("clip.mp4"), None);
        assert_eq!(y("https://example.com/watch?v=dQw4w9WgXcQ"), None);
    }

    #[test]
    fn maps_need_a_position() {
        let args = |v: Value| v.as_object().unwrap().clone();
        let m = map(&args(json!({"lat": 45.7642, "lon": 4.8357})), None, "fr").unwrap();
        assert!(m["src"].as_str().unwrap().starts_with("https://www.openstreetmap.org/export/embed.html?bbox=4.8"));
        assert!(m["texts"]["load"].as_str().unwrap().starts_with("Afficher la carte"));
        assert!(map(&args(json!({})), Some((45.0, 4.0)), "en").is_ok());
        assert!(map(&args(json!({})), None, "en").unwrap_err().contains("business.geo"));
        assert!(map(&args(json!({"lat": 1})), None, "en").unwrap_err().contains("both"));
        assert!(map(&args(json!({"lat": 1, "lon": 2, "zoom": 30})), None, "en").is_err());
    }
}
