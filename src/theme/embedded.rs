//! Files compiled into the binary: the bundled themes and the example site that `sopixi init`
//! copies. Read-only, no IO.

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The files of bundled theme `name`, as (path inside the theme, bytes); `None` if no such theme.
pub fn theme(name: &str) -> Option<Vec<(&'static str, &'static [u8])>> {
    let prefix = format!("{name}/");
    let files: Vec<_> =
        THEMES.iter().filter_map(|(p, b)| p.strip_prefix(prefix.as_str()).map(|rest| (rest, *b))).collect();
    (!files.is_empty()).then_some(files)
}

/// Names of the bundled themes.
pub fn theme_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = THEMES.iter().filter_map(|(p, _)| p.split('/').next()).collect();
    v.dedup();
    v
}
