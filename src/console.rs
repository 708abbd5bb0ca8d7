//! The user's messages on the terminal: `error:` / `help:` prefixes, colour only on a terminal and
//! never when `NO_COLOR` is set.

use std::io::IsTerminal;

fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn paint(code: &str, s: &str) -> String {
    if colour() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// Prints `error: message` on stderr.
pub fn error(msg: &str) {
    eprintln!("{} {msg}", paint("1;31", "error:"));
}

/// Prints `warning: message` on stderr.
pub fn warning(msg: &str) {
    eprintln!("{} {msg}", paint("1;33", "warning:"));
}

/// Prints a diagnostic: `error: file:line:col: message` and its hint.
pub fn diagnostic(d: &sopixi::util::diag::Diagnostic) {
    print_diagnostic(paint("1;31", "error:"), d);
}

/// Prints a diagnostic that does not fail the build: `warning: file:line: message` and its hint.
pub fn diagnostic_warning(d: &sopixi::util::diag::Diagnostic) {
    print_diagnostic(paint("1;33", "warning:"), d);
}

fn print_diagnostic(label: String, d: &sopixi::util::diag::Diagnostic) {
    eprintln!("{label} {}: {}", paint("1", &d.location()), d.message);
    if let Some(h) = &d.hint {
        eprintln!("  {} {h}", paint("36", "help:"));
    }
}

/// Prints an error and its causes: `error: …` then `caused by: …`.
pub fn error_chain(e: &dyn std::error::Error) {
    error(&e.to_string());
    let mut cur = e.source();
    while let Some(c) = cur {
        eprintln!("{} {c}", paint("33", "caused by:"));
        cur = c.source();
    }
}

/// Whether stderr is an interactive terminal (progress bars).
pub fn interactive() -> bool {
    std::io::stderr().is_terminal()
}
