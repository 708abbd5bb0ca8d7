//! Progress bars on long work: one set-up for pages, images and uploads.
//!
//! In: whether to show one, the length and a template. Out: an indicatif bar, hidden when not
//! asked for or empty (indicatif itself draws nothing when stderr is not a terminal).

/// A progress bar of `len` steps drawn with `template` (indicatif's syntax), or a hidden one.
pub(crate) fn bar(show: bool, len: u64, template: &str) -> indicatif::ProgressBar {
    if !show || len == 0 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
