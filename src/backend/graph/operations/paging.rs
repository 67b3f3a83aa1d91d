//! Graph's list pages behind the gateway's pages: one client page may read several upstream
//! pages (Graph may answer short or empty pages that still have a next link), each paid from
//! the caller's budget, and every edge gets a signed cursor that resumes exactly after it, even
//! when the upstream page shifted meanwhile. A nextLink is requested exactly as Graph wrote it,
//! only when it lies under Graph's version root (`links`), and never twice in one listing.
//! Used with `--graph-navigation-reads` only; by default a file's operations come from one
//! `$expand` read (see `expand`).

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::super::GraphBackend;
use super::super::client::{Answer, GraphRequest};
use super::super::envelope::ODataPage;
use super::super::links::{self, Pages};
use super::wire::OperationEntity;
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
pub(in crate::backend::graph) struct GraphCursor {
    /// The `@odata.nextLink` that produced the page (`None`: the first page).
    #[serde(rename = "p")]
    pub(in crate::backend::graph) page_link: Option<String>,
    /// Index of the edge in that page.
    #[serde(rename = "i")]
    pub(in crate::backend::graph) index: usize,
    /// `$top` of the first page (the only page whose URL the gateway builds).
    #[serde(rename = "t")]
    pub(in crate::backend::graph) top: usize,
    /// On the last edge of an upstream page: the next page's link.
    #[serde(rename = "n")]
    pub(in crate::backend::graph) next_link: Option<String>,
    /// The edge's operation id: resuming skips past it even if the page shifted meanwhile.
    #[serde(rename = "d")]
    pub(in crate::backend::graph) id: Guid,
}

impl GraphCursor {
    /// The cursor of the edge at `index` of a list the gateway holds whole (an `$expand`
    /// read): no upstream page to return to.
    pub(in crate::backend::graph) fn at(index: usize, id: Guid) -> Self {
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
    /// The next upstream page of a file's operations (see [`Pages`]).
    async fn fetch_page(
        &self,
        caller: &Caller,
        file: Guid,
        pages: &mut Pages,
    ) -> Result<ODataPage<Operation>, Error> {
        let page = match pages
            .read::<OperationEntity>(self.api.client(), caller)
            .await?
        {
            Answer::Entity(page) => page,
            // A 404 for the collection: the definition file does not exist.
            Answer::Absent | Answer::NoContent => return Err(file_not_found(file)),
        };
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
    // One loop on purpose: the resume point and the page it carries from upstream page to
    // upstream page would only be passed around by a split.
    pub(super) async fn list_pages(&self, caller: &Caller, call: ListCall) -> Result<Page, Error> {
        let ListCall {
            definition_file_id,
            first,
            after,
            ..
        } = call;
        // Decode (and so verify) the cursor before any upstream call.
        let Resume {
            link,
            past: mut resume,
            top,
        } = self.resume_from(definition_file_id, first, after.as_deref())?;
        let first_page = self
            .api
            .operations(definition_file_id, &[("$top", top.to_string())]);
        let mut pages = Pages::new(
            self.api.client().base(),
            GraphRequest::get(first_page),
            link,
        )?;
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
            let ODataPage {
                value: items,
                next_link: next,
            } = match self
                .fetch_page(caller, definition_file_id, &mut pages)
                .await
            {
                Ok(found) => found,
                Err(e) if e.code() == Code::LimitExceeded && !page.items.is_empty() => {
                    page.has_next_page = true;
                    return Ok(page);
                }
                Err(e) => return Err(e),
            };
            fetched += 1;
            let count = items.len();
            let page_link = pages.link().map(|l| links::compact(&ours, l));
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
                    page_link: page_link.clone(),
                    index,
                    top,
                    next_link: (index + 1 == count)
                        .then(|| next.as_deref().map(|l| links::compact(&ours, l)))
                        .flatten(),
                    id: op.id,
                };
                page.items
                    .push((self.cursors.lazy(definition_file_id, cursor), op));
            }
            let more = pages.has_next();
            pages.follow()?;
            if !more || page.items.len() >= first {
                page.has_next_page = more;
                return Ok(page);
            }
        }
    }
}
