//! `sopixi import hugo|zola SRC -o SITE`: a site made with Hugo or Zola, converted.

use std::path::PathBuf;

use sopixi::ops::port::import::{self, From};

use crate::console;

/// Bring a site in from Hugo or Zola.
///
/// Converts the site at SRC into a new sopixi site at SITE: the configuration into site.yaml
/// (title, base_url, language, taxonomies, menus, params/extra), every page's front matter (TOML
/// `+++` or YAML) into sopixi's keys (Hugo's `url`, `slug`, `aliases`, `weight`, `draft`, dates,
/// taxonomies …; unknown keys under `extra`), page bundles, `static/` and `data/` copied,
/// internal links (`{{< ref >}}`, `@/`) and the shortcodes that have an equivalent (figure,
/// youtube/vimeo, video, gallery, highlight) rewritten. Everything else is listed with its file
/// and line and left readable. The result builds with the bundled theme. SRC is never written;
/// running it again gives the same files.
///
/// Exit status: 0 when the site was converted (warnings included), 1 when it could not be.
#[derive(clap::Args)]
pub struct Args {
    /// The generator the site comes from.
    #[arg(value_enum)]
    pub from: Generator,
    /// The Hugo or Zola site folder.
    pub src: PathBuf,
    /// The sopixi site folder to make (new, or made by an earlier import).
    #[arg(short, long, value_name = "SITE")]
    pub output: PathBuf,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Hugo or Zola.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Generator {
    Hugo,
    Zola,
}

/// Runs `sopixi import`.
pub fn execute(args: Args) -> i32 {
    let from = match args.from {
        Generator::Hugo => From::Hugo,
        Generator::Zola => From::Zola,
    };
    match import::import(from, &args.src, &args.output) {
        Ok(r) => {
            if args.json {
                println!("{}", serde_json::json!({"status": "ok", "site": args.output, "report": r}));
            } else {
                for w in &r.warnings {
                    console::diagnostic_warning(w);
                }
                println!(
                    "Imported {} Markdown files and {} other files into {} ({} shortcodes rewritten, {} warnings); build it with `sopixi build {}`",
                    r.content_files,
                    r.copied,
                    args.output.display(),
                    r.rewritten.values().sum::<usize>(),
                    r.warnings.len(),
                    args.output.display()
                );
            }
            0
        }
        Err(e) => {
            if args.json {
                println!("{}", serde_json::json!({"status": "error", "message": e.to_string()}));
            } else {
                console::error(&e.to_string());
            }
            1
        }
    }
}
