//! Arbitrary HTML through the finishing steps every page takes: the compliance injector (adult
//! and not), the certain-append fast path, the compliance check, and the vendored minifier.
//! Any panic or abort is a bug; errors are fine.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sopixi::policy::compliance::{self, Injector};
use sopixi::policy::Policy;

fn policy() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(Policy::default)
}

fuzz_target!(|data: &[u8]| {
    let policy = policy();
    let injector = Injector::new(policy, "fr", "fr");
    if let Ok(html) = std::str::from_utf8(data) {
        let adult = data.len() % 3 == 0;
        if let Ok(done) = injector.inject(html, adult) {
            let _ = compliance::check(&done.html, adult, policy);
            let _ = compliance::is_injected(&done.html);
        }
    }
    if let Ok(min) = sopixi::render::minify::html(data) {
        let _ = compliance::append_if_certain(min, injector.block().as_bytes());
    }
});
