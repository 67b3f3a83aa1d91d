//! Opaque, tamper-evident list cursors shared by both backends.
//!
//! A cursor is `base64url(json) "." base64url(hmac)`. The JSON names the definition file it was
//! issued for, so a cursor from another collection is refused, and the HMAC means a client can
//! neither forge one nor edit what the gateway later does with it (in Graph mode it carries
//! Graph's skip token, which must never be attacker-chosen).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

use std::sync::Arc;

use crate::domain::{Cursor, Guid};
use crate::error::Error;

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies cursors with one key for the life of the process (or a configured one,
/// so cursors survive restarts and work across replicas).
#[derive(Clone)]
pub struct CursorCodec {
    /// The HMAC keyed once: a page of 100 signs 100 cursors, and keying costs as much as
    /// hashing a short cursor. Shared, so every lazily made cursor can hold the codec.
    keyed: Arc<HmacSha256>,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec { key: <redacted> }")
    }
}

#[derive(Serialize, serde::Deserialize)]
struct Envelope<T> {
    f: String,
    p: T,
}

impl CursorCodec {
    /// A codec keyed by `secret`, or by a fresh random key when none is configured.
    pub fn new(secret: Option<&str>) -> Self {
        let key = match secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
                .iter()
                .flat_map(|u| *u.as_bytes())
                .collect(),
        };
        let keyed = HmacSha256::new_from_slice(&key).expect("HMAC accepts keys of any length");
        CursorCodec {
            keyed: Arc::new(keyed),
        }
    }

    fn mac(&self, data: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::clone(&self.keyed);
        mac.update(data);
        mac
    }

    /// Issues a cursor for `payload` within the collection of `file`.
    pub fn encode<T: Serialize>(&self, file: Guid, payload: &T) -> String {
        let json = serde_json::to_vec(&Envelope {
            f: file.to_string(),
            p: payload,
        })
        .expect("cursor payloads are plain data");
        let tag = self.mac(&json).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The cursor for `payload` within the collection of `file`, signed only when a client
    /// reads it (the same string `encode` gives).
    pub(crate) fn lazy<T: Serialize + Send + Sync + 'static>(
        &self,
        file: Guid,
        payload: T,
    ) -> Cursor {
        let codec = self.clone();
        Cursor::lazy(move || codec.encode(file, &payload))
    }

    /// Verifies a cursor a client sent back as `after` for the collection of `file`.
    pub fn decode<T: DeserializeOwned>(&self, file: Guid, cursor: &str) -> Result<T, Error> {
        let invalid = || {
            Error::bad_argument(
                "after",
                "`after` is not a cursor this gateway issued for this definition file's operations",
            )
        };
        let (body, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        self.mac(&json).verify_slice(&tag).map_err(|_| invalid())?;
        let envelope: Envelope<T> = serde_json::from_slice(&json).map_err(|_| invalid())?;
        if envelope.f != file.to_string() {
            return Err(invalid());
        }
        Ok(envelope.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(n: u8) -> Guid {
        Guid::parse("f", &format!("00000000-0000-4000-8000-0000000000{n:02}")).expect("guid")
    }

    #[test]
    fn cursor_bytes_stay_those_clients_already_hold() {
        // Computed outside the gateway: base64url(json) "." base64url(HMAC-SHA256("s3cret", json)).
        let issued = "eyJmIjoiMDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAxIiwicCI6NDJ9\
                      .ugRvGrnlmerUmOUy9Q7_XVwQig-Df4v3ubTz0y76-yM";
        let codec = CursorCodec::new(Some("s3cret"));
        assert_eq!(codec.encode(file(1), &42_u64), issued);
        let lazy = codec.lazy(file(1), 42_u64);
        assert_eq!(
            lazy.get(),
            issued,
            "a cursor made on demand is the same string"
        );
        assert_eq!(
            codec.decode::<u64>(file(1), &lazy.get()).expect("valid"),
            42
        );
    }

    #[test]
    fn round_trips_and_refuses_tampering_and_foreign_collections() {
        let codec = CursorCodec::new(None);
        let cursor = codec.encode(file(1), &42_u64);
        assert_eq!(codec.decode::<u64>(file(1), &cursor).expect("valid"), 42);
        // The keyed HMAC is reused, never consumed: signing again gives the same cursor.
        assert_eq!(codec.encode(file(1), &42_u64), cursor);
        assert_eq!(
            codec.decode::<u64>(file(1), &cursor).expect("still valid"),
            42
        );
        assert!(
            codec.decode::<u64>(file(2), &cursor).is_err(),
            "foreign file"
        );
        let mut tampered = cursor.clone().into_bytes();
        tampered[3] ^= 1;
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert!(codec.decode::<u64>(file(1), &tampered).is_err());
        assert!(codec.decode::<u64>(file(1), "garbage").is_err());
        assert!(
            CursorCodec::new(None)
                .decode::<u64>(file(1), &cursor)
                .is_err(),
            "other key"
        );
        let shared = CursorCodec::new(Some("s3cret"));
        let again = CursorCodec::new(Some("s3cret"));
        assert_eq!(
            again
                .decode::<u64>(file(1), &shared.encode(file(1), &7_u64))
                .expect("same key"),
            7
        );
    }
}
