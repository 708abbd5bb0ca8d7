//! `sopixi init`: creates a new site from the example site compiled into the binary.

use std::path::PathBuf;

use crate::console;

/// Create a new site folder, ready to build.
///
/// The new site is a copy of the example site: pages, a blog, a shop section, a photo, a video
/// and a document, using the bundled `default` theme. Edit `site.yaml` and `content/`, then run
/// `sopixi build NAME`.
#[derive(clap::Args)]
pub struct Args {
    /// Folder to create (must not exist, or be empty).
    #[arg(default_value = "my-site")]
    pub name: PathBuf,
}

/// Runs `sopixi init`.
pub fn execute(args: Args) -> i32 {
    let dir = &args.name;
    if std::fs::read_dir(dir).is_ok_and(|mut r| r.next().is_some()) {
        console::error(&format!("{} already exists and is not empty; choose a new folder name", dir.display()));
        return 1;
    }
    for (rel, bytes) in sopixi::theme::embedded::EXAMPLE_SITE {
        let path = dir.join(rel);
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
    println!("Created the site {}.", dir.display());
    println!("Next: edit {0}/site.yaml and {0}/content/, then run `sopixi build {0}`.", dir.display());
    0
}
