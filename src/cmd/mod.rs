//! One module per subcommand, each with its clap `Args` and an `execute` returning the exit status.

pub mod build;
pub mod deploy;
pub mod init;
