//! SOPIXI: values made when a template first reaches them.
//!
//! A context may hold *markers* (strings made by [`marker`]) in place of objects; while a render
//! runs inside [`scope`], the renderer turns a marker into its object (by calling the scope's
//! resolver) wherever a template can tell the difference: a variable a template prints, filters,
//! tests, compares, assigns or passes to a macro or function is resolved all the way down; the
//! path to a variable (`a.b.0.c`) is resolved step by step; a `for` loop resolves its container
//! (not its items: each item is resolved when the loop reaches it, once per iteration); a truth
//! test and a first `length` filter resolve only the value itself (neither depends on what its
//! items hold, and a marker only ever stands for a non-empty object, which is truthy like it).
//!
//! So a home page whose context lists 1,000 sections of 100 pages each holds 100,000 markers of a
//! few dozen bytes, not 100,000 page objects, and makes only the pages its template reads.
//!
//! Markers begin with a prefix drawn at random for each process: a string from a context's data
//! cannot be taken for one. Outside a scope, nothing is resolved and nothing costs anything.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

/// Makes the object that the marker of number `id` stands for (`Value::Null` for an unknown one).
pub type Resolver = Arc<dyn Fn(usize) -> Value + Send + Sync>;

std::thread_local! {
    static ACTIVE: RefCell<Option<Resolver>> = const { RefCell::new(None) };
}

fn prefix() -> &'static str {
    static PREFIX: OnceLock<String> = OnceLock::new();
    PREFIX.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        let a = h.finish();
        h.write_u64(a);
        format!("\u{0}lazy-{:016x}{:016x}:", a, h.finish())
    })
}

/// The marker of object number `id` of the resolver of the scope the render will run in.
pub fn marker(id: usize) -> Value {
    Value::String(format!("{}{}", prefix(), id))
}

/// Runs `f` with `resolver` giving the objects of markers on this thread (the previous one, if
/// any, is restored afterwards, even if `f` panics).
pub fn scope<T>(resolver: Resolver, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Resolver>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            ACTIVE.with(|a| *a.borrow_mut() = previous);
        }
    }
    let _restore = Restore(ACTIVE.with(|a| a.borrow_mut().replace(resolver)));
    f()
}

/// Whether a resolver is active on this thread.
#[inline]
pub(crate) fn active() -> bool {
    ACTIVE.with(|a| a.borrow().is_some())
}

fn marker_id(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => s.strip_prefix(prefix())?.parse().ok(),
        _ => None,
    }
}

/// Whether `v` is a marker (only ever true inside a scope).
#[inline]
pub(crate) fn is_marker(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.starts_with('\u{0}')) && active() && marker_id(v).is_some()
}

/// The object marker `v` stands for.
pub(crate) fn resolve(v: &Value) -> Value {
    let Some(id) = marker_id(v) else { return v.clone() };
    let r = ACTIVE.with(|a| a.borrow().clone());
    match r {
        Some(r) => r(id),
        None => v.clone(),
    }
}

/// `v` itself resolved if it is a marker (its items are left as they are).
pub(crate) fn shallow(v: Cow<'_, Value>) -> Cow<'_, Value> {
    if is_marker(&v) {
        Cow::Owned(resolve(&v))
    } else {
        v
    }
}

fn contains_marker(v: &Value) -> bool {
    match v {
        Value::String(s) => s.starts_with('\u{0}') && marker_id(v).is_some(),
        Value::Array(a) => a.iter().any(contains_marker),
        Value::Object(m) => m.values().any(contains_marker),
        _ => false,
    }
}

fn resolve_all(v: &mut Value) {
    match v {
        Value::String(_) => {
            if marker_id(v).is_some() {
                *v = resolve(v);
                // What a resolver makes may hold markers too.
                resolve_all(v);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(resolve_all),
        Value::Object(m) => m.values_mut().for_each(resolve_all),
        _ => {}
    }
}

/// `v` with every marker in it resolved.
pub(crate) fn deep(v: Cow<'_, Value>) -> Cow<'_, Value> {
    if !active() || !contains_marker(&v) {
        return v;
    }
    let mut owned = v.into_owned();
    resolve_all(&mut owned);
    Cow::Owned(owned)
}

/// Every marker in `v` resolved, in place.
pub(crate) fn deep_in_place(v: &mut Value) {
    if active() && contains_marker(v) {
        resolve_all(v);
    }
}

/// Follows the tokens of a dotted path from `value`, resolving the markers met on the way
/// (the value at the end is returned as it is).
pub(crate) fn walk<'a, I: Iterator<Item = String>>(value: Cow<'a, Value>, tokens: I) -> Option<Cow<'a, Value>> {
    let mut cur = value;
    for token in tokens {
        cur = shallow(cur);
        cur = match cur {
            Cow::Borrowed(v) => Cow::Borrowed(step(v, &token)?),
            Cow::Owned(v) => Cow::Owned(step_owned(v, &token)?),
        };
    }
    Some(cur)
}

fn step<'a>(v: &'a Value, token: &str) -> Option<&'a Value> {
    match v {
        Value::Object(map) => map.get(token),
        Value::Array(list) => crate::context::parse_index(token).and_then(|x| list.get(x)),
        _ => None,
    }
}

fn step_owned(v: Value, token: &str) -> Option<Value> {
    match v {
        Value::Object(mut map) => map.remove(token),
        Value::Array(list) => {
            let i = crate::context::parse_index(token)?;
            list.into_iter().nth(i)
        }
        _ => None,
    }
}
