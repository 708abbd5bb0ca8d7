//! `sopixi init`: creates a new site from the example site compiled into the binary.

use std::path::PathBuf;

use crate::console;

/// Create a new site folder, ready to build.
///
/// The new site is a copy of the example site: pages, a blog, a shop section, a photo, a video
/// and a document, using the bundled `default` theme, or the bundled theme --theme names
/// (vitrine, journal, boutique). Edit `site.yaml` and `content/`, then run `sopixi build NAME`.
#[derive(clap::Args)]
pub struct Args {
    /// Folder to create (must not exist, or be empty).
    #[arg(default_value = "my-site")]
    pub name: PathBuf,
    /// The bundled theme the site starts with (`sopixi init --theme list` lists them).
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
}

/// Runs `sopixi init`.
pub fn execute(args: Args) -> i32 {
    let names = sopixi::theme::embedded::theme_names();
    if args.theme.as_deref() == Some("list") {
        for n in &names {
            let about = sopixi::theme::embedded::theme(n)
                .and_then(|files| files.into_iter().find(|(p, _)| *p == "theme.yaml"))
                .and_then(|(_, b)| {
                    sopixi::theme::meta::ThemeMeta::parse("theme.yaml", &String::from_utf8_lossy(b)).ok()
                })
                .map(|m| m.description)
                .unwrap_or_default();
            println!("{n:10} {about}");
        }
        return 0;
    }
    if let Some(t) = &args.theme {
        if !names.contains(&t.as_str()) {
            console::error(&format!("there is no bundled theme `{t}`; the bundled themes are: {}", names.join(", ")));
            return 1;
        }
    }
    let dir = &args.name;
    if std::fs::read_dir(dir).is_ok_and(|mut r| r.next().is_some()) {
        console::error(&format!("{} already exists and is not empty; choose a new folder name", dir.display()));
        return 1;
    }
    for (rel, bytes) in sopixi::theme::embedded::EXAMPLE_SITE {
        let path = dir.join(rel);
        let themed;
        let bytes: &[u8] = match (&args.theme, *rel) {
            (Some(t), sopixi::site::config::SITE_FILE) => {
                themed = with_theme(&String::from_utf8_lossy(bytes), t);
                themed.as_bytes()
            }
            _ => bytes,
        };
        let r = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|_| std::fs::write(&path, bytes));
        if let Err(e) = r {
            console::error(&format!("cannot write {}: {e}", path.display()));
            return 1;
        }
    }
    let gitignore = dir.join(".gitignore");
    if let Err(e) = std::fs::write(&gitignore, "public/\n.sopixi-cache/\n.*.sopixi-staging-*/\n") {
        console::error(&format!("cannot write {}: {e}", gitignore.display()));
        return 1;
    }
    match &args.theme {
        Some(t) => println!("Created the site {} with the theme {t}.", dir.display()),
        None => println!("Created the site {}.", dir.display()),
    }
    println!("Next: edit {0}/site.yaml and {0}/content/, then run `sopixi build {0}`.", dir.display());
    0
}

/// `site.yaml` with its `theme:` line naming `theme` (the example site's names `default`).
fn with_theme(site_yaml: &str, theme: &str) -> String {
    let mut found = false;
    let mut out: Vec<String> = site_yaml
        .lines()
        .map(|l| {
            if !found && l.starts_with("theme:") {
                found = true;
                format!("theme: {theme}")
            } else {
                l.to_string()
            }
        })
        .collect();
    if !found {
        out.push(format!("theme: {theme}"));
    }
    out.join("\n") + "\n"
}
