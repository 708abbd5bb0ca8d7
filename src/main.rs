//! The `sopixi` command line: parses arguments, calls the library, prints. No logic lives here.

mod cmd;
mod console;

use clap::{Parser, Subcommand};

// Building allocates many small values from many threads; glibc's allocator spent a sixth of a
// 10,000-page build in malloc/free and its resident memory grew to 2-3x the live heap. jemalloc
// and mimalloc both fix the time; jemalloc peaked lowest (429 MB against 466 MB and 511 MB).
// (`--features system-alloc`: the system's allocator, for heap profilers such as heaptrack that
// follow malloc; never ship it.)
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Sopixi builds websites from a folder of Markdown files and a theme.
///
/// A site folder holds `site.yaml`, `content/` (Markdown pages), `static/` (files copied as they
/// are) and optionally `templates/` (overrides of the theme's templates).
///
/// Start with `sopixi init my-site`, preview it with `sopixi serve my-site` while you edit, then
/// `sopixi build my-site`: the website is written to `my-site/public/`.
#[derive(Parser)]
#[command(name = "sopixi", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    /// Print more detail (the time taken by each stage).
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Init(cmd::init::Args),
    Build(cmd::build::Args),
    Check(cmd::check::Args),
    Deploy(cmd::deploy::Args),
    Serve(cmd::serve::Args),
    Platform(cmd::platform::Args),
    Releases(cmd::releases::Args),
    Submit(cmd::submit::Args),
    Export(cmd::export::Args),
    Import(cmd::import::Args),
    Theme(cmd::theme::Args),
}

fn main() {
    let cli = Cli::parse();
    if cfg!(feature = "bench-without-compliance") {
        eprintln!("warning: benchmark build without the platform elements; never publish its output");
    }
    let code = match cli.command {
        Command::Init(args) => cmd::init::execute(args),
        Command::Build(args) => cmd::build::execute(args, cli.verbose),
        Command::Check(args) => cmd::check::execute(args),
        Command::Deploy(args) => cmd::deploy::execute(args, cli.verbose),
        Command::Serve(args) => cmd::serve::execute(args, cli.verbose),
        Command::Platform(args) => cmd::platform::execute(args),
        Command::Releases(args) => cmd::releases::execute(args),
        Command::Submit(args) => cmd::submit::execute(args),
        Command::Export(args) => cmd::export::execute(args),
        Command::Import(args) => cmd::import::execute(args),
        Command::Theme(args) => cmd::theme::execute(args),
    };
    std::process::exit(code);
}
