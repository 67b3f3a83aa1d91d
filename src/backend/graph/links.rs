//! Graph's `@odata.nextLink` rules: a link is requested exactly as Graph wrote it, once it is
//! known to address the same collection at Graph's origin (paths compared in canonical form,
//! since Graph may write a key as `Files('id')`). Cursors keep links compactly and give them
//! back byte for byte.

use percent_encoding::percent_decode_str;
use url::Url;

use crate::error::{Code, Error};

/// The URL of an `@odata.nextLink`, exactly as Graph wrote it, once it is known to address the
/// same collection at the same origin (its path compared in canonical form).
pub fn next_link(ours: &Url, link: &str) -> Result<Url, Error> {
    Url::parse(link)
        .ok()
        .filter(|url| url.origin() == ours.origin() && canonical_path(url) == canonical_path(ours))
        .ok_or_else(|| {
            Error::upstream(
                Code::UpstreamError,
                "Microsoft Graph returned an @odata.nextLink for another resource",
            )
        })
}

/// A path in a form fit for comparison: percent-escapes decoded, case folded, no trailing `/`,
/// and OData's key-as-parentheses form (`Files('id')`) written as a segment (`Files/id`).
fn canonical_path(url: &Url) -> String {
    percent_decode_str(url.path())
        .decode_utf8_lossy()
        .trim_end_matches('/')
        .split('/')
        .map(
            |segment| match segment.strip_suffix(')').and_then(|s| s.split_once('(')) {
                Some((name, key)) => format!("{name}/{}", key.trim_matches('\'')),
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
        .to_lowercase()
}

/// A nextLink as a cursor keeps it: only its query when it starts with the collection's own
/// URL (cursors stay short), else whole. [`expand`] gives back the exact text.
pub fn compact(ours: &Url, link: &str) -> String {
    match link.strip_prefix(ours.as_str()) {
        Some(query) if query.starts_with('?') => query.to_owned(),
        _ => link.to_owned(),
    }
}

pub fn expand(ours: &Url, stored: String) -> String {
    if stored.starts_with('?') {
        format!("{}{stored}", ours.as_str())
    } else {
        stored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Url {
        Url::parse("https://graph.microsoft.com/beta/deviceManagement/groupPolicyUploadedDefinitionFiles/a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01/groupPolicyOperations").expect("url")
    }

    #[test]
    fn links_to_the_same_collection_in_another_form_are_followed_as_written() {
        let link = "https://graph.microsoft.com/beta/deviceManagement/groupPolicyUploadedDefinitionFiles('A1F5C3D2-7B64-4E0F-9C21-3D8E5F6A7B01')/groupPolicyOperations?$top=1&$skiptoken=x&extra=1";
        let url = next_link(&ours(), link).expect("same collection");
        assert_eq!(url.as_str(), link);
        for foreign in [
            "https://evil.example/beta/deviceManagement/groupPolicyUploadedDefinitionFiles/a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01/groupPolicyOperations",
            "https://graph.microsoft.com/beta/deviceManagement/groupPolicyUploadedDefinitionFiles/a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01",
            "not a url",
        ] {
            assert!(next_link(&ours(), foreign).is_err(), "{foreign}");
        }
    }

    #[test]
    fn compacted_links_expand_to_the_exact_text() {
        let ours = ours();
        for link in [
            format!("{}?%24top=2&$skiptoken=abc", ours.as_str()),
            "https://graph.microsoft.com/beta/x('y')/groupPolicyOperations?a=b".to_owned(),
        ] {
            assert_eq!(expand(&ours, compact(&ours, &link)), link);
        }
        assert!(compact(&ours, &format!("{}?a=1", ours.as_str())).len() < 10);
    }
}
