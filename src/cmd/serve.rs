//! `sopixi serve`: the live preview.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use sopixi::build::engine::Engine;
use sopixi::serve::{self, Notice, ServeOptions};
use sopixi::site::config::BuildOptions;

use crate::console;

/// Preview the site in a browser while you edit it.
///
/// The site is built in memory (with the platform elements, exactly as `sopixi build` makes it;
/// SITE/public is never written) and served at http://127.0.0.1:1111/. Every change to content/,
/// static/, templates/, the theme or site.yaml rebuilds what it affects and reloads open pages; a
/// stylesheet change is swapped in without a reload. When the site has an error, the last good
/// build stays on screen under an overlay naming the file and line, which goes away by itself
/// when the file is fixed.
///
/// Theme designers: `sopixi serve --theme DIR` previews the theme folder DIR against the example
/// site (or against SITE when given), watching the theme folder.
///
/// Stop with Ctrl-C. Exit status: 1 when the server cannot start.
#[derive(clap::Args)]
pub struct Args {
    /// The site folder (holding site.yaml) [default: the current folder, or the example site
    /// with --theme].
    pub site: Option<PathBuf>,
    /// Port to listen on [default: 1111, or the next free one].
    #[arg(long, short = 'p', value_name = "PORT")]
    pub port: Option<u16>,
    /// Address to listen on. Only 127.0.0.1 (this machine) by default: another address, such as
    /// 0.0.0.0, lets other devices on your network see the preview (a warning says so).
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Include pages marked `draft: true`.
    #[arg(long)]
    pub drafts: bool,
    /// Open the preview in the default browser.
    #[arg(long)]
    pub open: bool,
    /// A theme folder to preview instead of the site's theme (for theme designers), or a
    /// theme's name (`vitrine`) to try on the site.
    #[arg(long, value_name = "DIR|NAME")]
    pub theme: Option<PathBuf>,
    /// The platform operator's policy file (badge link, logo, colours, notice texts).
    #[arg(long, value_name = "FILE", env = "SOPIXI_POLICY")]
    pub policy: Option<PathBuf>,
}

/// Runs `sopixi serve`.
pub fn execute(args: Args, verbose: bool) -> i32 {
    let Some(policy) = super::policy(args.policy.as_deref(), false) else { return 1 };
    if let Some(t) = &args.theme {
        // A name (`--theme vitrine`) is resolved by the build, like site.yaml's `theme:`.
        if sopixi::theme::theme_name(t).is_none() && !t.join("templates").is_dir() {
            console::error(&format!(
                "{} is not a theme folder (it has no templates/ folder); pass the folder holding theme.yaml, templates/ and static/",
                t.display()
            ));
            return 1;
        }
    }
    let root = match (&args.site, &args.theme) {
        (Some(s), _) => s.clone(),
        (None, None) => PathBuf::from("."),
        (None, Some(_)) => match example_site() {
            Ok(dir) => dir,
            Err(e) => {
                console::error(&e);
                return 1;
            }
        },
    };
    if !root.join(sopixi::site::config::SITE_FILE).is_file() {
        console::error(&format!(
            "{} holds no site.yaml; pass the folder of a site (run `sopixi init NAME` to create one), or use --theme DIR to preview a theme against the example site",
            root.display()
        ));
        return 1;
    }
    if !args.bind.is_loopback() {
        console::warning(&format!(
            "listening on {}: other devices on your network can see this preview (and your drafts); use --bind 127.0.0.1 to keep it on this machine",
            args.bind
        ));
    }
    let opts = ServeOptions {
        root,
        build: BuildOptions {
            drafts: args.drafts,
            base_url: None,
            no_minify: false,
            theme_dir: args.theme.clone(),
            progress: false,
            ..Default::default()
        },
        engine: Engine::new(policy),
        bind: args.bind,
        port: args.port.unwrap_or(1111),
        port_explicit: args.port.is_some(),
    };
    let open = args.open;
    let report = move |n: Notice| match n {
        Notice::PortTaken { wanted, using } => {
            console::warning(&format!("port {wanted} is in use; using port {using} instead"))
        }
        Notice::Listening(url) => {
            println!("Serving at {url} (Ctrl-C to stop)");
            if open {
                open_browser(&url);
            }
        }
        Notice::Built { number, pages, took, reused, changed, css_only, stages, warnings } => {
            for w in &warnings {
                console::diagnostic_warning(w);
            }
            let ms = took.as_secs_f64() * 1000.0;
            if number == 1 {
                println!("Built {pages} page{} in {ms:.0} ms", if pages == 1 { "" } else { "s" });
            } else {
                let what = if css_only { " (stylesheets swapped)" } else { "" };
                println!("Rebuilt in {ms:.1} ms: {changed} file{} changed{what}", if changed == 1 { "" } else { "s" });
                if verbose {
                    let stages: Vec<String> =
                        stages.iter().map(|(n, d)| format!("{n} {:.1}", d.as_secs_f64() * 1000.0)).collect();
                    eprintln!("  {reused} finished files reused; ms per stage: {}", stages.join(", "));
                }
            }
        }
        Notice::Failed(diags) => {
            for d in &diags {
                console::diagnostic(d);
            }
            let n = diags.len();
            console::error(&format!(
                "build failed with {n} error{}; still serving the last good build (the browser shows the errors)",
                if n == 1 { "" } else { "s" }
            ));
        }
    };
    match serve::serve(opts, Arc::new(report)) {
        Ok(()) => 0,
        Err(e) => {
            console::error_chain(&e);
            1
        }
    }
}

/// The example site, copied into a fresh temporary folder (the theme is previewed against it).
fn example_site() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("sopixi-serve-example-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (rel, bytes) in sopixi::theme::embedded::EXAMPLE_SITE {
        let path = dir.join(rel);
        path.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&path, bytes))
            .map_err(|e| format!("cannot copy the example site to {}: {e}", path.display()))?;
    }
    Ok(dir)
}

fn open_browser(url: &str) {
    let cmd = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if std::process::Command::new(cmd)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_err()
    {
        console::warning(&format!("cannot open a browser ({cmd} failed); open {url} yourself"));
    }
}
