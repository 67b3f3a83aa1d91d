//! Graph's OData conventions as the fake applies them: query options (strictly checked),
//! `$select`, GUID keys, Intune's error messages, skip tokens and `@odata.nextLink`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::serve::{IncomingRequest, Reply, RequestIds};
use crate::state::{GraphState, PageCursor};

/// The operation's properties, as Graph spells them.
const PROPERTIES: [&str; 5] = [
    "id",
    "operationType",
    "operationStatus",
    "statusDetails",
    "lastModifiedDateTime",
];

/// RFC 3986's unreserved characters stay as they are; everything else is escaped.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The query options a request carried (only those its route allows).
#[derive(Default)]
pub(crate) struct QueryOptions {
    pub(crate) select: Option<Vec<String>>,
    pub(crate) top: Option<usize>,
    pub(crate) skiptoken: Option<String>,
    pub(crate) expand: bool,
}

/// Reads the query options of `req`, refusing (400) any option not in `allowed`, any
/// repeated option and any value Graph would refuse.
pub(crate) fn parse_query(
    ids: &RequestIds,
    req: &IncomingRequest,
    allowed: &[&str],
) -> Result<QueryOptions, Reply> {
    let mut options = QueryOptions::default();
    let mut seen: Vec<String> = Vec::new();
    let query = req.query.as_deref().unwrap_or("");
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let name = k.to_ascii_lowercase();
        if !allowed.contains(&name.as_str()) {
            return Err(ids.bad_request(&format!(
                "Query option '{k}' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings."
            )));
        }
        if seen.contains(&name) {
            return Err(ids.bad_request(&format!("Query option '{k}' was specified more than once, but it must be specified at most once.")));
        }
        seen.push(name.clone());
        match name.as_str() {
            "$select" => options.select = Some(parse_select(ids, &v)?),
            "$top" => match v.parse::<usize>() {
                Ok(n) if (1..=999).contains(&n) => options.top = Some(n),
                _ => return Err(ids.bad_request(&format!("Invalid value '{v}' for $top query option found. It must be an integer between 1 and 999."))),
            },
            "$skiptoken" => options.skiptoken = Some(v.into_owned()),
            "$expand" if v == "groupPolicyOperations" => options.expand = true,
            "$expand" => {
                return Err(ids.bad_request(&format!(
                    "Could not find a navigation property named '{v}'."
                )));
            }
            other => unreachable!("a route allowed the unknown query option {other}"),
        }
    }
    Ok(options)
}

/// The selected properties, spelled as Graph spells them, each once.
fn parse_select(ids: &RequestIds, value: &str) -> Result<Vec<String>, Reply> {
    let mut props: Vec<String> = Vec::new();
    for p in value.split(',').map(str::trim) {
        let Some(canon) = PROPERTIES.iter().find(|c| c.eq_ignore_ascii_case(p)) else {
            return Err(ids.bad_request(&format!(
                "Could not find a property named '{p}' on type 'microsoft.graph.groupPolicyOperation'."
            )));
        };
        if !props.iter().any(|x| x == canon) {
            props.push(canon.to_string());
        }
    }
    Ok(props)
}

/// Keeps only the selected properties (and `id`), in the entity's own order.
pub(crate) fn project(e: &Value, select: Option<&[String]>) -> Value {
    match (select, e.as_object()) {
        (Some(sel), Some(obj)) => Value::Object(
            obj.iter()
                .filter(|(k, _)| k.as_str() == "id" || sel.iter().any(|s| s == *k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => e.clone(),
    }
}

/// Whether entity `e` has this id (Graph compares ids case-insensitively).
pub(crate) fn id_eq(e: &Value, id: &str) -> bool {
    e.get("id")
        .and_then(Value::as_str)
        .is_some_and(|x| x.eq_ignore_ascii_case(id))
}

/// Hyphenated GUID, any case.
pub(crate) fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Intune's JSON-inside-`error.message`; the human text is its `Message` member.
pub(crate) fn intune_message(human: &str, activity_id: &str, url: Option<&str>) -> String {
    let mut msg = format!(
        "{human} - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: {activity_id}"
    );
    if let Some(u) = url {
        msg.push_str(&format!(" - Url: {u}"));
    }
    json!({
        "_version": 3,
        "Message": msg,
        "CustomApiErrorPhrase": "",
        "RetryAfter": null,
        "ErrorSourceService": "",
        "HttpHeaders": "{}"
    })
    .to_string()
}

/// `innerError.date`: now, UTC, no fraction, no zone.
pub(crate) fn inner_error_date() -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    OffsetDateTime::now_utc().format(format).unwrap_or_default()
}

/// Opaque, base64-looking, always containing characters (`+`, `/`, `=`) that must stay
/// percent-encoded in the nextLink: a client that decodes and re-encodes it carelessly
/// (e.g. `+` -> space) presents an unknown token and gets 400.
fn new_skiptoken() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let random = |n: usize| -> String {
        (0..n)
            .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
            .collect()
    };
    format!("RFNwdAIAAQAAAC{}+{}/{}==", random(18), random(4), random(3))
}

impl GraphState {
    /// Where a `$skiptoken` points, if this fake issued it for `list`.
    pub(crate) fn resume_offset(
        &self,
        ids: &RequestIds,
        token: Option<&str>,
        list: &str,
    ) -> Result<usize, Reply> {
        let Some(token) = token else {
            return Ok(0);
        };
        match self.skiptokens.get(token) {
            Some(cursor) if cursor.list == list => Ok(cursor.offset),
            _ => Err(ids.bad_request("The $skiptoken value is invalid or has expired.")),
        }
    }

    /// The `@odata.nextLink` of a page of `list` whose next page starts at `offset`: the
    /// request's own URL with its `$skiptoken` replaced by a fresh one.
    pub(crate) fn next_link(
        &mut self,
        origin: &str,
        req: &IncomingRequest,
        list: &str,
        offset: usize,
    ) -> String {
        let token = new_skiptoken();
        self.skiptokens.insert(
            token.clone(),
            PageCursor {
                list: list.to_string(),
                offset,
            },
        );
        let mut parts: Vec<String> = req
            .query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .filter(|p| {
                let key = p.split_once('=').map_or(*p, |(k, _)| k);
                !percent_decode_str(key)
                    .decode_utf8_lossy()
                    .eq_ignore_ascii_case("$skiptoken")
            })
            .map(str::to_string)
            .collect();
        parts.push(format!(
            "$skiptoken={}",
            utf8_percent_encode(&token, UNRESERVED)
        ));
        format!("{origin}{}?{}", req.raw_path, parts.join("&"))
    }
}
