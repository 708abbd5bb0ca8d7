//! Integration tests: one binary, a module per feature, driving the real `sopixi` binary over
//! fixture sites in `tests/fixtures/`.

mod support;

mod browser;
mod build_errors;
mod build_outputs;
mod business;
mod cli;
mod compliance;
mod deploy;
mod edge;
mod fuzz_regressions;
mod hostile;
mod images;
mod multilingual;
mod platform;
mod port;
mod rebuilds;
mod releases;
mod scale;
mod search;
mod serve;
mod themes;
mod tidy;
mod validity;
