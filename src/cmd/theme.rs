//! `sopixi theme …`: the theme designer's and the marketplace's commands.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use sopixi::ops::theme::statement::{self, Month};
use sopixi::theme::meta::ThemeMeta;
use sopixi::util::money::format_cents;

use crate::console;

/// Themes: for designers and for the platform's marketplace.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(clap::Subcommand)]
pub enum Command {
    New(NewArgs),
    Check(CheckArgs),
    Catalog(CatalogArgs),
    Statement(StatementArgs),
}

/// Start a new theme: a working theme in a new folder NAME.
///
/// It has theme.yaml, base/index/section/page templates (landmarks, a skip link, translated UI
/// strings), a mobile-first stylesheet with light and dark schemes and visible focus, and UI
/// strings in English and French. Preview it with `sopixi serve --theme NAME`.
#[derive(clap::Args)]
pub struct NewArgs {
    /// The theme's name, and the folder to create (lowercase letters, digits, hyphens).
    pub name: String,
    /// Create it in this folder instead of ./NAME.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Check a theme before selling it: metadata, templates, the example site and the theme's demo/
/// built with it, CSS budget, no request to another host, every page valid HTML (W3C Nu
/// checker), and one page of each template in headless Chromium at each width: the platform
/// elements hold, no sideways scrolling, no serious or critical axe-core violation.
///
/// The outside tools (Chromium, axe-core, the Nu checker) are installed by scripts/theme-tools;
/// --quick leaves them out.
///
/// Lists every finding with its file and line. Exit status: 0 when there is no error (warnings
/// allowed), 1 otherwise.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// The theme folder.
    pub dir: PathBuf,
    /// The site to build with it [default: the example site].
    #[arg(long, value_name = "SITE")]
    pub example: Option<PathBuf>,
    /// The platform operator's policy.
    #[arg(long, value_name = "FILE", env = "SOPIXI_POLICY")]
    pub policy: Option<PathBuf>,
    /// Only the checks that need no outside tool: no Nu checker, no Chromium, no axe-core.
    #[arg(long)]
    pub quick: bool,
    /// Viewport widths for the browser checks, in CSS pixels.
    #[arg(long, value_delimiter = ',', default_values_t = [320u32, 768, 1280, 1440], value_name = "PX,…", conflicts_with = "quick")]
    pub widths: Vec<u32>,
    /// Print the findings as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The marketplace's gallery of the themes in THEMES_DIR.
///
/// Writes DIR/index.html (with the platform elements): each theme's screenshot, description,
/// designer, licence and version, a live demo (the example site built with it, in DIR/demo/NAME/)
/// and its public price — the designer's price, plus the platform's margin
/// (`themes.margin_percent` of the policy), plus VAT (`themes.vat_percent`) on the sum, computed in
/// cents and rounded half up once — with the breakdown; and DIR/catalog.json, the same data.
///
/// Exit status: 0 when the gallery was written, 1 when a theme has problems (nothing is written).
#[derive(clap::Args)]
pub struct CatalogArgs {
    /// The theme catalog: one folder per theme.
    pub themes: PathBuf,
    /// The platform operator's policy (margin, VAT, platform elements).
    #[arg(long, value_name = "FILE", env = "SOPIXI_POLICY")]
    pub policy: Option<PathBuf>,
    /// Where to write the gallery.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// The address the gallery is published at (its demos' base URL).
    #[arg(long, value_name = "URL", default_value = "/")]
    pub base_url: String,
    /// The site the demos are built from [default: the example site].
    #[arg(long, value_name = "SITE")]
    pub example: Option<PathBuf>,
    /// Print the catalog as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Each designer's monthly statement of theme sales, as HTML and CSV.
///
/// Reads SALES (`date,theme,partner,amount_paid`: what each partner paid, VAT included, in euros)
/// and writes, for each designer whose themes sold in MONTH, DIR/DESIGNER-MONTH.csv and .html:
/// every sale, the designer's share (the amount less VAT and the platform's margin, from the
/// policy's `themes: {margin_percent, vat_percent}`), and the total due, payable at the end of
/// the following month. Every bad row (an unknown theme, a negative or malformed amount, a date
/// outside the month, a duplicate) is listed with its line, and then nothing is written.
///
/// Exit status: 0 when the statements were written, 1 otherwise.
#[derive(clap::Args)]
pub struct StatementArgs {
    /// The month's sales (CSV).
    #[arg(long, value_name = "FILE")]
    pub sales: PathBuf,
    /// The theme catalog: one folder per theme, each with its theme.yaml (designer).
    #[arg(long, value_name = "DIR")]
    pub themes: PathBuf,
    /// The platform operator's policy (margin and VAT).
    #[arg(long, value_name = "FILE", env = "SOPIXI_POLICY")]
    pub policy: Option<PathBuf>,
    /// The month, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: String,
    /// Where to write the statements.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Print the statements as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `sopixi theme …`.
pub fn execute(args: Args) -> i32 {
    match args.command {
        Command::Statement(a) => statement(a),
        Command::Catalog(a) => catalog(a),
        Command::Check(a) => check(a),
        Command::New(a) => {
            let dir = a.dir.clone().unwrap_or_else(|| PathBuf::from(&a.name));
            match sopixi::theme::scaffold::new_theme(&dir, &a.name) {
                Ok(files) => {
                    println!(
                        "Created the theme {} in {} ({} files); preview it with `sopixi serve --theme {}`",
                        a.name,
                        dir.display(),
                        files.len(),
                        dir.display()
                    );
                    0
                }
                Err(e) => {
                    console::error(&e);
                    1
                }
            }
        }
    }
}

fn catalog(args: CatalogArgs) -> i32 {
    let Some(policy) = super::policy(args.policy.as_deref(), args.json) else { return 1 };
    let engine = sopixi::build::engine::Engine::new(policy);
    // The demos' content: the example site, written to a temporary folder unless one is given.
    let tmp = tempdir_for_example();
    let example = match &args.example {
        Some(e) => e.clone(),
        None => match &tmp {
            Ok(dir) => dir.clone(),
            Err(e) => {
                console::error(&format!("cannot write the example site: {e}"));
                return 1;
            }
        },
    };
    let result =
        sopixi::ops::theme::catalog::build_catalog(&engine, &args.themes, &example, &args.output, &args.base_url);
    if let Ok(dir) = &tmp {
        let _ = std::fs::remove_dir_all(dir);
    }
    match result {
        Ok(entries) => {
            if args.json {
                println!("{}", serde_json::json!({"status": "ok", "themes": entries}));
            } else {
                for e in &entries {
                    println!("{:<16} {:>10} €  by {}", e.id, e.price_text, e.designer);
                }
                println!("{} theme(s) → {}", entries.len(), args.output.join("index.html").display());
            }
            0
        }
        Err(sopixi::ops::theme::catalog::CatalogError::Themes(diags)) => {
            diags.iter().for_each(console::diagnostic);
            console::error(&format!("{} problem(s) in the catalog; no gallery was written", diags.len()));
            1
        }
        Err(e) => {
            console::error(&e.to_string());
            1
        }
    }
}

fn check(args: CheckArgs) -> i32 {
    let Some(policy) = super::policy(args.policy.as_deref(), args.json) else { return 1 };
    let engine = sopixi::build::engine::Engine::new(policy);
    let tmp = tempdir_for_example();
    let example = match (&args.example, &tmp) {
        (Some(e), _) => e.clone(),
        (None, Ok(dir)) => dir.clone(),
        (None, Err(e)) => {
            console::error(&format!("cannot write the example site: {e}"));
            return 1;
        }
    };
    let browser = if !args.quick {
        match sopixi::ops::theme::check::Browser::find(args.widths.clone()) {
            Ok(b) => Some(b),
            Err(e) => {
                console::error(&format!("{e} (or run `sopixi theme check --quick` for the checks without them)"));
                return 1;
            }
        }
    } else {
        None
    };
    let report = sopixi::ops::theme::check::check(&engine, &args.dir, &example, browser.as_ref());
    if let Ok(dir) = &tmp {
        let _ = std::fs::remove_dir_all(dir);
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({"status": if report.errors.is_empty() { "ok" } else { "error" }, "report": report})
        );
    } else {
        report.warnings.iter().for_each(console::diagnostic_warning);
        report.errors.iter().for_each(console::diagnostic);
        let full = match &browser {
            Some(b) => format!(
                "; {} pages through the HTML checker; {} page views in Chromium at {} px with axe-core",
                report.html_pages,
                report.browser_pages,
                b.widths.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ),
            None => "; quick: no HTML checker, Chromium or axe-core".to_string(),
        };
        let line = format!(
            "{}: {} error(s), {} warning(s); {} pages of the example site built; CSS {} bytes of {}{full}",
            args.dir.display(),
            report.errors.len(),
            report.warnings.len(),
            report.pages,
            report.css_bytes,
            sopixi::ops::theme::check::CSS_BUDGET
        );
        if report.errors.is_empty() {
            println!("{line}");
        } else {
            console::error(&line);
        }
    }
    i32::from(!report.errors.is_empty())
}

/// The example site, written into a new temporary folder.
fn tempdir_for_example() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("sopixi-catalog-example-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (rel, bytes) in sopixi::theme::embedded::EXAMPLE_SITE {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
    }
    Ok(dir)
}

fn statement(args: StatementArgs) -> i32 {
    let Some(policy) = super::policy(args.policy.as_deref(), args.json) else { return 1 };
    let month = match Month::parse(&args.month) {
        Ok(m) => m,
        Err(e) => {
            console::error(&format!("--month {e}"));
            return 1;
        }
    };
    let mut designers = BTreeMap::new();
    let entries = match std::fs::read_dir(&args.themes) {
        Ok(e) => e,
        Err(e) => {
            console::error(&format!("cannot read the theme catalog {}: {e}", args.themes.display()));
            return 1;
        }
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !e.path().is_dir() {
            continue;
        }
        let file = e.path().join("theme.yaml");
        let meta = match std::fs::read_to_string(&file).map(|t| ThemeMeta::parse(&file.display().to_string(), &t)) {
            Ok(Ok(m)) => m,
            Ok(Err(diags)) => {
                diags.iter().for_each(console::diagnostic);
                return 1;
            }
            Err(_) => ThemeMeta::default(),
        };
        let designer = if meta.designer.trim().is_empty() { "(unknown designer)".to_string() } else { meta.designer };
        designers.insert(name, designer);
    }
    let known: BTreeSet<String> = designers.keys().cloned().collect();
    let label = args.sales.display().to_string();
    let text = match std::fs::read_to_string(&args.sales) {
        Ok(t) => t,
        Err(e) => {
            console::error(&format!("cannot read {label}: {e}"));
            return 1;
        }
    };
    let sales = match statement::parse_sales(&label, &text, month, &known) {
        Ok(s) => s,
        Err(diags) => {
            diags.iter().for_each(console::diagnostic);
            console::error(&format!("{label} has {} bad row(s); no statement was written", diags.len()));
            return 1;
        }
    };
    let (margin, vat) = (policy.themes.margin, policy.themes.vat);
    let statements = statement::statements(&sales, &designers, margin, vat, month);
    if let Err(e) = std::fs::create_dir_all(&args.output) {
        console::error(&format!("cannot create {}: {e}", args.output.display()));
        return 1;
    }
    for s in &statements {
        let stem = format!("{}-{}", sopixi::util::text::slugify(&s.designer), s.month);
        for (ext, body) in [("csv", statement::to_csv(s)), ("html", statement::to_html(s, margin, vat))] {
            let path = args.output.join(format!("{stem}.{ext}"));
            if let Err(e) = std::fs::write(&path, body) {
                console::error(&format!("cannot write {}: {e}", path.display()));
                return 1;
            }
        }
    }
    if args.json {
        println!("{}", serde_json::json!({"status": "ok", "month": month.to_string(), "statements": statements}));
    } else {
        for s in &statements {
            println!(
                "{:<24} {:>3} sales  paid {:>10} €  due {:>10} €  payable {}",
                s.designer,
                s.lines.len(),
                format_cents(s.total_paid),
                format_cents(s.total_due),
                s.payable_on
            );
        }
        println!("{} statement(s) for {month} → {}", statements.len(), args.output.display());
    }
    0
}
