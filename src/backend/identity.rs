//! Who a bearer token says it is, and whether Microsoft Graph has vouched for it.
//!
//! The gateway never verifies tokens: Graph does, on every request, with keys and policies the
//! gateway does not have. What the gateway needs is narrower: a stable key for "the same
//! caller" (to scope `Idempotency-Key`s) and for "the same tenant" (to share Intune's
//! per-tenant budget). A token's claims (`tid`, `sub`, `oid`, `appid`/`azp`) give both, but
//! anyone can write a token with any claims, so claims are used only once Graph has accepted
//! that exact token ([`Vouched::record`] on a 2xx). Until then callers are keyed by the token
//! itself, which cannot touch anyone else's state.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::BearerToken;

/// The claims the gateway keys state by, read from a JWT's payload without verifying it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Claims {
    /// `tid`: the Entra ID tenant.
    pub tenant: Option<String>,
    /// `oid`, else `sub`: the user or service principal.
    pub subject: Option<String>,
    /// `appid` (v1 tokens) or `azp` (v2 tokens): the client application.
    pub app: Option<String>,
}

impl Claims {
    /// The claims of `token` when it is a JWT with a JSON payload; `None` for opaque tokens.
    /// Nothing is verified: see the module header for when these may be trusted.
    pub fn unverified(token: &BearerToken) -> Option<Claims> {
        let payload = token.expose().split('.').nth(1)?;
        // A real access token is a few KB; refuse to decode anything absurd.
        if payload.len() > 16 * 1024 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let claim = |name: &str| {
            value
                .get(name)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty() && s.len() <= 256)
                .map(str::to_owned)
        };
        Some(Claims {
            tenant: claim("tid"),
            subject: claim("oid").or_else(|| claim("sub")),
            app: claim("appid").or_else(|| claim("azp")),
        })
    }
}

/// A token's SHA-256, hex: a key that identifies the token without holding the secret.
pub(crate) fn fingerprint(token: &BearerToken) -> String {
    let digest = Sha256::digest(token.expose().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Tokens Graph has accepted (answered with a 2xx), remembered by fingerprint with their
/// claims, most recent first. Bounded: the oldest are forgotten, and a forgotten token is
/// simply keyed by itself again until Graph accepts it once more.
pub(crate) struct Vouched {
    accepted: Mutex<lru::LruCache<[u8; 32], Arc<Claims>>>,
}

impl Vouched {
    /// Remembers at most `capacity` tokens.
    pub(crate) fn new(capacity: NonZeroUsize) -> Self {
        Vouched {
            accepted: Mutex::new(lru::LruCache::new(capacity)),
        }
    }

    /// Graph answered a request made with `token` with a 2xx.
    pub(crate) fn record(&self, token: &BearerToken) {
        let key: [u8; 32] = Sha256::digest(token.expose().as_bytes()).into();
        let mut accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        if accepted.get(&key).is_none() {
            let claims = Claims::unverified(token).unwrap_or_default();
            accepted.put(key, Arc::new(claims));
        }
    }

    /// The claims of `token` if Graph has accepted it; `None` otherwise.
    pub(crate) fn claims(&self, token: &BearerToken) -> Option<Arc<Claims>> {
        let key: [u8; 32] = Sha256::digest(token.expose().as_bytes()).into();
        let mut accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        accepted.get(&key).cloned()
    }
}

impl Default for Vouched {
    fn default() -> Self {
        Vouched::new(NonZeroUsize::new(10_000).expect("non-zero"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> BearerToken {
        let body = URL_SAFE_NO_PAD.encode(payload);
        BearerToken::from_authorization(&format!("Bearer eyJhbGciOiJub25lIn0.{body}.sig"))
            .expect("a token")
    }

    #[test]
    fn claims_come_from_the_payload() {
        let token = jwt(r#"{"tid":"t1","oid":"o1","sub":"s1","appid":"a1"}"#);
        let claims = Claims::unverified(&token).expect("claims");
        assert_eq!(claims.tenant.as_deref(), Some("t1"));
        assert_eq!(claims.subject.as_deref(), Some("o1"));
        assert_eq!(claims.app.as_deref(), Some("a1"));
        let v2 = Claims::unverified(&jwt(r#"{"tid":"t2","sub":"s2","azp":"z2"}"#)).unwrap();
        assert_eq!(v2.subject.as_deref(), Some("s2"));
        assert_eq!(v2.app.as_deref(), Some("z2"));
    }

    #[test]
    fn opaque_and_broken_tokens_have_no_claims() {
        let opaque = BearerToken::from_authorization("Bearer opaque-token").unwrap();
        assert_eq!(Claims::unverified(&opaque), None);
        let broken = BearerToken::from_authorization("Bearer a.!!!.c").unwrap();
        assert_eq!(Claims::unverified(&broken), None);
    }

    #[test]
    fn claims_are_trusted_only_after_graph_accepted_the_token() {
        let vouched = Vouched::new(NonZeroUsize::new(2).unwrap());
        let token = jwt(r#"{"tid":"t1","oid":"o1"}"#);
        assert!(vouched.claims(&token).is_none());
        vouched.record(&token);
        assert_eq!(
            vouched.claims(&token).unwrap().tenant.as_deref(),
            Some("t1")
        );
        // Bounded: two more tokens push the first one out.
        vouched.record(&jwt(r#"{"tid":"t2"}"#));
        vouched.record(&jwt(r#"{"tid":"t3"}"#));
        assert!(vouched.claims(&token).is_none());
    }

    #[test]
    fn fingerprints_hide_the_token() {
        let token = jwt(r#"{"tid":"t1"}"#);
        let print = fingerprint(&token);
        assert_eq!(print.len(), 64);
        assert!(!print.contains(token.expose()));
    }
}
