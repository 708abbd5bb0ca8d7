//! A build's page bodies moved out of memory: the HTML of each converted Markdown body written
//! to one temporary file (unlinked as soon as it is open, so nothing is left behind, even when
//! the process is killed) and read back when a template needs it. A 100,000-page site holds
//! about 700 MB of body HTML from conversion to rendering; in the file it is in the kernel's page
//! cache, which the kernel may write out, not in the process.
//!
//! In: bytes. Out: [`Span`]s that read them back. Used only by plain builds of large sites
//! (`serve` keeps bodies in memory from one build to the next).

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The temporary file.
pub struct Spill {
    file: File,
    /// Where the next write goes.
    end: AtomicU64,
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spill({} bytes)", self.end.load(Ordering::Relaxed))
    }
}

/// Bytes written to a [`Spill`].
#[derive(Debug, Clone)]
pub struct Span {
    spill: Arc<Spill>,
    at: u64,
    len: usize,
}

impl Spill {
    /// A spill file in `dir` (named after `name` while it exists), or `None` when it cannot be
    /// made there (the caller keeps everything in memory).
    #[cfg(unix)]
    pub fn create(dir: &Path, name: &str) -> Option<Arc<Spill>> {
        let path = dir.join(format!(".{name}.sopixi-spill-{}", std::process::id()));
        let file = std::fs::File::options().read(true).write(true).create_new(true).open(&path).ok()?;
        // Unlinked at once: the file lives as long as it is open.
        if std::fs::remove_file(&path).is_err() {
            return None;
        }
        Some(Arc::new(Spill { file, end: AtomicU64::new(0) }))
    }

    /// A spill file beside output folder `out` (named after it and `what`), as [`Spill::create`].
    /// The folder that will hold `out` is made if it is missing, as the build's output makes it.
    pub fn beside(out: &Path, what: &str) -> Option<Arc<Spill>> {
        let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("output");
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).ok()?;
        Spill::create(parent, &format!("{name}{what}"))
    }

    /// Elsewhere than Unix, nothing is spilled.
    #[cfg(not(unix))]
    pub fn create(_dir: &Path, _name: &str) -> Option<Arc<Spill>> {
        None
    }

    /// Writes `bytes` (from any thread: each write has its own place in the file).
    pub fn put(self: &Arc<Self>, bytes: &[u8]) -> std::io::Result<Span> {
        let at = self.end.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        #[cfg(unix)]
        std::os::unix::fs::FileExt::write_all_at(&self.file, bytes, at)?;
        Ok(Span { spill: self.clone(), at, len: bytes.len() })
    }

    /// The bytes written so far.
    pub fn len(&self) -> u64 {
        self.end.load(Ordering::Relaxed)
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Span {
    /// The text written (it was UTF-8 when written).
    ///
    /// # Panics
    /// When the file cannot be read back (an I/O error of the disk under the output folder):
    /// the page being rendered fails with an internal error (`finish::guarded`).
    pub fn text(&self) -> String {
        let mut buf = vec![0; self.len];
        #[cfg(unix)]
        std::os::unix::fs::FileExt::read_exact_at(&self.spill.file, &mut buf, self.at)
            .expect("reading a page body back from the build's spill file");
        String::from_utf8(buf).expect("a spilled page body is the UTF-8 it was")
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_put_is_read_back_from_any_thread_and_no_file_is_left() {
        let dir = std::env::temp_dir().join(format!("sopixi-spill-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spill = Spill::create(&dir, "site").unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "unlinked at once");
        let spans: Vec<(String, Span)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|t| {
                    let spill = spill.clone();
                    s.spawn(move || {
                        (0..50)
                            .map(|i| {
                                let text = format!("<p>thread {t} page {i} é</p>").repeat(i + 1);
                                let span = spill.put(text.as_bytes()).unwrap();
                                (text, span)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        for (text, span) in &spans {
            assert_eq!(&span.text(), text);
        }
        assert_eq!(spill.len(), spans.iter().map(|(t, _)| t.len() as u64).sum::<u64>());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
