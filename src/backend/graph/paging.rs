//! Graph's list pages behind the gateway's pages: one client page may read several upstream
//! pages (Graph may answer short or empty pages that still have a next link), each paid from
//! the caller's budget, and every edge gets a signed cursor that resumes exactly after it, even
//! when the upstream page shifted meanwhile. A nextLink is requested exactly as Graph wrote it,
//! only when it lies under Graph's version root (`links`), and never twice in one listing.
//! Used with `--graph-navigation-reads` only; by default a file's operations come from one
//! `$expand` read (see `expand`).

use std::collections::HashSet;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::client::GraphRequest;
use super::envelope::ODataPage;
use super::wire::{self, OperationEntity};
use super::{GraphBackend, links, upstream_shape};
use crate::backend::Caller;
use crate::backend::budget::ListCall;
use crate::domain::files::file_not_found;
use crate::domain::{Guid, Operation, Page};
use crate::error::{Code, Error};

/// How many upstream list pages one GraphQL page follows once it has some edges (Graph may
/// return short or empty pages that still have a next link).
const MAX_PAGES_PER_CALL: usize = 10;

/// What a Graph-mode cursor carries: the upstream page the edge came from (the
/// `@odata.nextLink` exactly as Graph wrote it, kept compactly by `links`, never client
/// input), the edge's place in that page, and, on a page's last edge, the next page's link.
/// One-letter names on the wire keep cursors short.
#[derive(Serialize, Deserialize)]
pub(super) struct GraphCursor {
    /// The `@odata.nextLink` that produced the page (`None`: the first page).
    #[serde(rename = "p")]
    pub(super) page_link: Option<String>,
    /// Index of the edge in that page.
    #[serde(rename = "i")]
    pub(super) index: usize,
    /// `$top` of the first page (the only page whose URL the gateway builds).
    #[serde(rename = "t")]
    pub(super) top: usize,
    /// On the last edge of an upstream page: the next page's link.
    #[serde(rename = "n")]
    pub(super) next_link: Option<String>,
    /// The edge's operation id: resuming skips past it even if the page shifted meanwhile.
    #[serde(rename = "d")]
    pub(super) id: Guid,
}

impl GraphCursor {
    /// The cursor of the edge at `index` of a list the gateway holds whole (an `$expand`
    /// read): no upstream page to return to.
    pub(super) fn at(index: usize, id: Guid) -> Self {
        GraphCursor {
            page_link: None,
            index,
            top: 1,
            next_link: None,
            id,
        }
    }
}

/// Where a list call starts upstream.
struct Resume {
    /// The nextLink of the upstream page to read (`None`: the first page).
    link: Option<String>,
    /// The edge to skip past when its page is read again: its id and old position.
    past: Option<(Guid, usize)>,
    /// The `$top` to ask for.
    top: usize,
}

impl GraphBackend {
    /// One upstream page of a file's operations: the first (built with `$top`), or the one at
    /// `link`, requested exactly as Graph wrote it. Returns its items and the next link, which
    /// must address this very collection at Graph's origin (else an upstream error, and it is
    /// never fetched).
    async fn fetch_page(
        &self,
        caller: &Caller,
        file: Guid,
        link: Option<&str>,
        top: usize,
    ) -> Result<ODataPage<Operation>, Error> {
        let base = self.api.client().base();
        let request = match link {
            Some(link) => GraphRequest::get_exact(links::next_link(base, link)?, link.to_owned()),
            None => GraphRequest::get(self.api.operations(file, &[("$top", top.to_string())])),
        };
        let Some(body) = self.call(caller, request).await? else {
            // A 404 for the collection: the definition file does not exist.
            return Err(file_not_found(file));
        };
        let page: ODataPage<OperationEntity> = wire::read(&body, "a list of operations")?;
        if let Some(next) = &page.next_link {
            links::next_link(base, next)?;
        }
        Ok(ODataPage {
            value: page
                .value
                .into_iter()
                .map(|entity| entity.into_operation(file))
                .collect::<Result<Vec<_>, _>>()?,
            next_link: page.next_link,
        })
    }

    /// Where a list resumes after the cursor `after`.
    fn resume_from(&self, file: Guid, first: usize, after: Option<&str>) -> Result<Resume, Error> {
        let Some(cursor) = after else {
            return Ok(Resume {
                link: None,
                past: None,
                top: first,
            });
        };
        let cursor: GraphCursor = self.cursors.decode(file, cursor)?;
        let ours = self.api.operations(file, &[]);
        let expand = |stored: Option<String>| stored.map(|s| links::expand(&ours, s));
        Ok(match cursor.next_link {
            Some(next) => Resume {
                link: expand(Some(next)),
                past: None,
                top: first,
            },
            None => Resume {
                link: expand(cursor.page_link),
                past: Some((cursor.id, cursor.index)),
                top: cursor.top.max(1),
            },
        })
    }

    /// One client page, read from as many upstream pages as it takes (each paid from the
    /// caller's budget). When the budget runs out with some edges in hand, the page ends there
    /// and the last edge's cursor resumes it.
    // One loop on purpose: the link, resume point and followed links it carries from page to
    // page would only be passed around by a split.
    pub(super) async fn list_pages(&self, caller: &Caller, call: ListCall) -> Result<Page, Error> {
        // Every property is read whatever the fields (see `fetch_page`).
        let ListCall {
            definition_file_id,
            first,
            after,
            ..
        } = call;
        // Decode (and so verify) the cursor before any upstream call.
        let Resume {
            mut link,
            past: mut resume,
            top,
        } = self.resume_from(definition_file_id, first, after.as_deref())?;
        // Intune has been seen to return the same nextLink forever: never follow one twice.
        let mut followed: HashSet<String> = link.iter().cloned().collect();
        let ours = self.api.operations(definition_file_id, &[]);
        let mut page = Page::default();
        let deadline = Instant::now() + self.api.client().timeout();
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
                .fetch_page(caller, definition_file_id, link.as_deref(), top)
                .await;
            let ODataPage {
                value: items,
                next_link: next,
            } = match fetched_page {
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
                    page_link: link.as_deref().map(|l| links::compact(&ours, l)),
                    index,
                    top,
                    next_link: (index + 1 == count)
                        .then(|| next.as_deref().map(|l| links::compact(&ours, l)))
                        .flatten(),
                    id: op.id,
                };
                page.items
                    .push((self.cursors.encode(definition_file_id, &cursor), op));
            }
            if let Some(next) = &next
                && !followed.insert(next.clone())
            {
                return Err(upstream_shape(
                    "an @odata.nextLink it had already returned in this listing",
                ));
            }
            match next {
                Some(next) if page.items.len() < first => link = Some(next),
                next => {
                    page.has_next_page = next.is_some();
                    return Ok(page);
                }
            }
        }
    }
}
