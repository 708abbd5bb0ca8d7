//! One module per subcommand, each with its clap `Args` and an `execute` returning the exit status.

pub mod build;
pub mod check;
pub mod deploy;
pub mod export;
pub mod import;
pub mod init;
pub mod platform;
pub mod releases;
pub mod serve;
pub mod submit;
pub mod theme;

use std::path::Path;

use sopixi::build::BuildError;
use sopixi::policy::Policy;

use crate::console;

/// The platform policy: the operator's file when given, else the built-in defaults. `None` (after
/// printing why) when the file is wrong.
pub fn policy(path: Option<&Path>, json: bool) -> Option<Policy> {
    let Some(path) = path else { return Some(Policy::default()) };
    match sopixi::policy::load_policy(path) {
        Ok(p) => Some(p),
        Err(f) => {
            report_build_error(&BuildError::Failed(f), json, None);
            None
        }
    }
}

/// Prints a failed build's problems: every diagnostic, then one summary line (or one JSON object).
/// `out_dir`, when given, is the output folder the failure left untouched.
pub fn report_build_error(e: &BuildError, json: bool, out_dir: Option<&Path>) {
    let diags = match e {
        BuildError::Failed(f) => f.0.clone(),
        _ => Vec::new(),
    };
    if json {
        let errors: Vec<_> = if diags.is_empty() {
            vec![serde_json::json!({"message": e.to_string()})]
        } else {
            diags.iter().map(|d| serde_json::json!(d)).collect()
        };
        println!("{}", serde_json::json!({"status": "error", "errors": errors}));
        return;
    }
    match e {
        BuildError::Failed(f) => {
            for d in &f.0 {
                console::diagnostic(d);
            }
            let n = f.0.len();
            let plural = if n == 1 { "" } else { "s" };
            match out_dir {
                Some(dir) => console::error(&format!(
                    "build failed with {n} error{plural}; {} was left as it was",
                    dir.display()
                )),
                None => console::error(&format!("build failed with {n} error{plural}")),
            }
        }
        other => console::error_chain(other),
    }
}
