//! Graph's `@odata.nextLink` rules, as Microsoft's SDK page iterators apply them: any link on
//! Graph's own origin under the configured version root is followed, requested exactly as
//! Graph wrote it (see [`raw`](super::raw)); the path may be in another form than the one the
//! gateway sent (`Files('id')`, other query options). Cursors keep links compactly and give
//! them back byte for byte. [`Pages`] walks a listing by these rules, for every list the
//! backend reads page by page.

use std::collections::HashSet;

use url::Url;

use super::client::{Answer, GraphClient, GraphRequest};
use super::envelope::{Body, ODataPage, unusable};
use crate::backend::Caller;
use crate::error::Error;

/// The URL of an `@odata.nextLink` (as the `url` crate reads it, for logs and metrics), once
/// the link is known to start with the version root `base` byte for byte and still to lie
/// under it once `.` and `..` segments are resolved.
pub(crate) fn next_link(base: &Url, link: &str) -> Result<Url, Error> {
    let root = base.as_str().trim_end_matches('/');
    let refuse =
        || unusable("Microsoft Graph returned an @odata.nextLink outside its own version root");
    let rest = link
        .get(..root.len())
        .filter(|head| head.eq_ignore_ascii_case(root))
        .map(|_| &link[root.len()..])
        .ok_or_else(refuse)?;
    if !rest.starts_with('/') || rest.bytes().any(|b| b <= b' ' || b == b'\\' || b >= 0x7f) {
        return Err(refuse());
    }
    // What the byte-for-byte sender will accept as a request target.
    link.parse::<hyper::Uri>().map_err(|_| refuse())?;
    let url = Url::parse(link).map_err(|_| refuse())?;
    let under_root = url.origin() == base.origin()
        && url
            .path()
            .strip_prefix(base.path().trim_end_matches('/'))
            .is_some_and(|tail| tail.starts_with('/'));
    under_root.then_some(url).ok_or_else(refuse)
}

/// A nextLink as a cursor keeps it: only its query when it starts with the collection's own
/// URL (cursors stay short), else whole. [`expand`] gives back the exact text.
pub(crate) fn compact(ours: &Url, link: &str) -> String {
    match link.strip_prefix(ours.as_str()) {
        Some(query) if query.starts_with('?') => query.to_owned(),
        _ => link.to_owned(),
    }
}

/// The stored form of a nextLink (see [`compact`]) back as Graph wrote it.
pub(crate) fn expand(ours: &Url, stored: String) -> String {
    if stored.starts_with('?') {
        format!("{}{stored}", ours.as_str())
    } else {
        stored
    }
}

/// A walk through one listing's pages: the first one the gateway built, or a nextLink a cursor
/// gave back, then each `@odata.nextLink`, requested exactly as Graph wrote it. A page's
/// nextLink is checked as the page arrives (outside the version root: `UPSTREAM_ERROR`), and
/// again when the walk follows it (one this walk has already followed: `UPSTREAM_ERROR`, since
/// Intune has been seen to return the same link forever).
pub(crate) struct Pages {
    /// The page to read next, once [`follow`](Self::follow) has armed it.
    next: Option<GraphRequest>,
    /// The last page's nextLink, checked to lie under the version root, not yet followed.
    pending: Option<(Url, String)>,
    /// The nextLink the page last read came from (`None`: the gateway built its URL).
    link: Option<String>,
    followed: HashSet<String>,
}

impl Pages {
    /// A walk starting at `first`, or at the nextLink `resume` when given.
    pub(crate) fn new(
        base: &Url,
        first: GraphRequest,
        resume: Option<String>,
    ) -> Result<Self, Error> {
        let next = match &resume {
            Some(link) => GraphRequest::get_exact(next_link(base, link)?, link.clone()),
            None => first,
        };
        Ok(Pages {
            next: Some(next),
            pending: None,
            followed: resume.iter().cloned().collect(),
            link: resume,
        })
    }

    /// Reads the armed page (`NoContent` when none is); [`link`](Self::link) then names it,
    /// and its nextLink, if any, waits for [`follow`](Self::follow).
    pub(crate) async fn read<T>(
        &mut self,
        client: &GraphClient,
        caller: &Caller,
    ) -> Result<Answer<ODataPage<T>>, Error>
    where
        ODataPage<T>: Body,
    {
        let Some(request) = self.next.take() else {
            return Ok(Answer::NoContent);
        };
        self.link = request.exact.clone();
        let answer = client.call::<ODataPage<T>>(caller, &request).await?;
        if let Answer::Entity(page) = &answer
            && let Some(link) = &page.next_link
        {
            self.pending = Some((next_link(client.base(), link)?, link.clone()));
        }
        Ok(answer)
    }

    /// Whether the page last read has a next one.
    pub(crate) fn has_next(&self) -> bool {
        self.pending.is_some()
    }

    /// Arms the next page for [`read`](Self::read), unless this walk has followed its link
    /// before.
    pub(crate) fn follow(&mut self) -> Result<(), Error> {
        let Some((url, link)) = self.pending.take() else {
            return Ok(());
        };
        if !self.followed.insert(link.clone()) {
            return Err(unusable(
                "Microsoft Graph returned an @odata.nextLink it had already returned in this \
                 listing",
            ));
        }
        self.next = Some(GraphRequest::get_exact(url, link));
        Ok(())
    }

    /// The nextLink of the page last read (`None`: the first page, whose URL the gateway built).
    pub(crate) fn link(&self) -> Option<&str> {
        self.link.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://graph.microsoft.com/beta").expect("url")
    }

    fn ours() -> Url {
        Url::parse("https://graph.microsoft.com/beta/deviceManagement/groupPolicyUploadedDefinitionFiles/a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01/groupPolicyOperations").expect("url")
    }

    #[test]
    fn links_under_the_version_root_are_followed_in_any_form() {
        for link in [
            "https://graph.microsoft.com/beta/deviceManagement/groupPolicyUploadedDefinitionFiles('A1F5C3D2-7B64-4E0F-9C21-3D8E5F6A7B01')/groupPolicyOperations?$top=1&$skiptoken='x'&extra=1",
            "https://graph.microsoft.com/beta/deviceManagement/groupPolicyOperations?$skiptoken=a%27b%3D",
        ] {
            assert!(next_link(&base(), link).is_ok(), "{link}");
        }
        for foreign in [
            "https://evil.example/beta/deviceManagement/groupPolicyUploadedDefinitionFiles",
            "https://graph.microsoft.com/v1.0/deviceManagement/groupPolicyUploadedDefinitionFiles",
            "https://graph.microsoft.com/beta/../v1.0/deviceManagement",
            "https://graph.microsoft.com/beta/%2e%2e/v1.0/deviceManagement",
            "https://graph.microsoft.com/betamax/x",
            "https://graph.microsoft.com@evil.example/beta/x",
            "https://graph.microsoft.com/beta/x y",
            "https://graph.microsoft.com/beta\\x",
            "https://graph.microsoft.com/beta/x?a=\"b\"",
            "http://graph.microsoft.com/beta/x",
            "not a url",
        ] {
            assert!(next_link(&base(), foreign).is_err(), "{foreign}");
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
