//! A list cursor signed only when a client reads it.
//!
//! Signing a cursor (an HMAC over its JSON) cost about a third of a page of 100 operations,
//! yet most queries select `nodes` or only `endCursor`. Backends therefore hand out a
//! [`Cursor`] that remembers how to make the string, and the GraphQL layer asks for it only
//! when the `cursor`, `startCursor` or `endCursor` field is selected.

use std::fmt;
use std::sync::{Arc, OnceLock};

/// The cursor of one edge of a page, made on first use and then kept.
#[derive(Clone)]
pub struct Cursor(Arc<dyn Fn() -> String + Send + Sync>);

impl Cursor {
    /// A cursor that `make` produces when first asked for; later asks get the same string.
    pub(crate) fn lazy(make: impl Fn() -> String + Send + Sync + 'static) -> Self {
        let made = OnceLock::new();
        Cursor(Arc::new(move || made.get_or_init(&make).clone()))
    }

    /// The opaque string a client passes back as `after`.
    pub fn get(&self) -> String {
        (self.0)()
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cursor(<made on demand>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn makes_the_string_only_when_asked_and_only_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let cursor = Cursor::lazy(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            "abc.def".to_owned()
        });
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "not made before it is read"
        );
        let copy = cursor.clone();
        assert_eq!(cursor.get(), "abc.def");
        assert_eq!(copy.get(), "abc.def");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "made once, shared by clones"
        );
    }
}
