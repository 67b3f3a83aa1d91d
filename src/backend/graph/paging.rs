//! Graph's list pages behind the gateway's pages: one client page may read several upstream
//! pages (Graph may answer short or empty pages that still have a next link), each paid from
//! the caller's budget, and every edge gets a signed cursor that resumes exactly after it, even
//! when the upstream page shifted meanwhile. Only a nextLink for the same collection is ever
//! followed.

use std::time::Instant;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::client::Kind;
use super::{GraphBackend, select, upstream_shape, wire};
use crate::backend::Caller;
use crate::backend::budget::ListCall;
use crate::domain::{Fields, Guid, Operation, Page};
use crate::error::{Code, Error};

/// How many upstream list pages one GraphQL page follows once it has some edges (Graph may
/// return short or empty pages that still have a next link).
const MAX_PAGES_PER_CALL: usize = 10;

/// What a Graph-mode cursor carries: where the edge's upstream page started (Graph's own
/// continuation parameters, never client input), the edge's place in that page, and, on a
/// page's last edge, the continuation of the next page.
#[derive(Serialize, Deserialize)]
struct GraphCursor {
    /// Query pairs of the `@odata.nextLink` that produced the page (empty: the first page).
    p: Vec<(String, String)>,
    /// Index of the edge in that page.
    i: usize,
    /// `$top` used for that page, so re-reading it yields the same items.
    t: usize,
    /// On the last edge of an upstream page: the next page's continuation.
    n: Option<Vec<(String, String)>>,
    /// The edge's operation id: resuming skips past it even if the page shifted meanwhile.
    d: Guid,
}

/// Where a list call starts upstream.
struct Resume {
    /// The continuation of the upstream page to read (empty: the first page).
    continuation: Vec<(String, String)>,
    /// The edge to skip past when its page is read again: its id and old position.
    past: Option<(Guid, usize)>,
    /// The `$top` to ask for.
    top: usize,
}

impl GraphBackend {
    /// Graph's continuation for the next page (`None` at the end). Only a nextLink for this
    /// very collection is followed; anything else is an upstream error rather than a list
    /// silently cut short, and its URL is never fetched.
    fn continuation(
        &self,
        file: Guid,
        body: &Value,
    ) -> Result<Option<Vec<(String, String)>>, Error> {
        let Some(link) = body["@odata.nextLink"].as_str() else {
            return Ok(None);
        };
        let ours = self.collection(file, &[]);
        let link = Url::parse(link)
            .ok()
            .filter(|link| {
                link.origin() == ours.origin() && link.path().eq_ignore_ascii_case(ours.path())
            })
            .ok_or_else(|| upstream_shape("an @odata.nextLink for another resource"))?;
        Ok(Some(
            link.query_pairs()
                .filter(|(k, _)| k != "$select" && k != "$top")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }

    async fn fetch_page(
        &self,
        caller: &Caller,
        file: Guid,
        continuation: &[(String, String)],
        top: usize,
        fields: Fields,
    ) -> Result<(Vec<Operation>, Option<Vec<(String, String)>>), Error> {
        let mut query: Vec<(&str, String)> = continuation
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        query.push(("$top", top.to_string()));
        query.push(("$select", select(fields)));
        let body = self
            .client
            .call(
                caller,
                Method::GET,
                self.collection(file, &query),
                None,
                Kind::Read,
            )
            .await?
            .unwrap_or(Value::Null);
        let Some(values) = body["value"].as_array() else {
            // A 404 for the collection is an unknown definition file: an empty list.
            return if body.is_null() {
                Ok((Vec::new(), None))
            } else {
                Err(upstream_shape("a list without `value`"))
            };
        };
        let items = values
            .iter()
            .map(|v| wire::operation(file, v, fields))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, self.continuation(file, &body)?))
    }

    /// Where a list resumes after the cursor `after`.
    fn resume_from(&self, file: Guid, first: usize, after: Option<&str>) -> Result<Resume, Error> {
        let Some(cursor) = after else {
            return Ok(Resume {
                continuation: Vec::new(),
                past: None,
                top: first,
            });
        };
        let cursor: GraphCursor = self.cursors.decode(file, cursor)?;
        Ok(match cursor.n {
            Some(next) => Resume {
                continuation: next,
                past: None,
                top: first,
            },
            None => Resume {
                continuation: cursor.p,
                past: Some((cursor.d, cursor.i)),
                top: cursor.t.max(1),
            },
        })
    }

    /// One client page, read from as many upstream pages as it takes (each paid from the
    /// caller's budget). When the budget runs out with some edges in hand, the page ends there
    /// and the last edge's cursor resumes it.
    // One loop on purpose: the continuation, resume point and `$top` it carries from page to
    // page would only be passed around by a split.
    pub(super) async fn list_pages(&self, caller: &Caller, call: ListCall) -> Result<Page, Error> {
        let ListCall {
            definition_file_id,
            first,
            after,
            fields,
        } = call;
        // Decode (and so verify) the cursor before any upstream call.
        let Resume {
            mut continuation,
            past: mut resume,
            mut top,
        } = self.resume_from(definition_file_id, first, after.as_deref())?;
        let mut page = Page::default();
        let deadline = Instant::now() + self.client.timeout();
        let mut fetched = 0;
        loop {
            // Stop following links once some edges are in hand (the last one's cursor resumes
            // there); with none yet, keep going until the time budget runs out, because an
            // empty page with `hasNextPage` and no cursor would leave the client stuck.
            if fetched == MAX_PAGES_PER_CALL && !page.items.is_empty() {
                page.has_next_page = true;
                return Ok(page);
            }
            if fetched > 0 && Instant::now() >= deadline {
                return Err(Error::upstream(
                    Code::UpstreamTimeout,
                    "Microsoft Graph kept answering with empty pages",
                ));
            }
            let fetched_page = self
                .fetch_page(caller, definition_file_id, &continuation, top, fields)
                .await;
            let (items, next) = match fetched_page {
                Ok(found) => found,
                Err(e) if e.code() == Code::LimitExceeded && !page.items.is_empty() => {
                    page.has_next_page = true;
                    return Ok(page);
                }
                Err(e) => return Err(e),
            };
            fetched += 1;
            let count = items.len();
            // Past the resumed edge: found by id, else by its old position.
            let skip = resume.take().map_or(0, |(id, index)| {
                items
                    .iter()
                    .position(|op| op.id == id)
                    .map_or(index + 1, |found| found + 1)
            });
            for (index, op) in items.into_iter().enumerate().skip(skip) {
                if page.items.len() == first {
                    page.has_next_page = true;
                    return Ok(page);
                }
                let cursor = GraphCursor {
                    p: continuation.clone(),
                    i: index,
                    t: top,
                    n: (index + 1 == count).then(|| next.clone()).flatten(),
                    d: op.id,
                };
                page.items
                    .push((self.cursors.encode(definition_file_id, &cursor), op));
            }
            match next {
                Some(next) if page.items.len() < first => {
                    continuation = next;
                    top = first - page.items.len();
                }
                next => {
                    page.has_next_page = next.is_some();
                    return Ok(page);
                }
            }
        }
    }
}
