//! Content negotiation, read once per request: which media type the client accepts for the
//! answer (`Accept`), what it sent (`Content-Type`), and whether a browser could have sent it
//! cross-site without a preflight (Apollo's CSRF rule).

use axum::http::{HeaderMap, header};

/// The media type of the GraphQL-over-HTTP spec.
pub(crate) const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// Which response media type the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseMedia {
    /// `application/graphql-response+json`: status codes follow the GraphQL-over-HTTP spec.
    GraphqlResponse,
    /// Legacy `application/json`: 200 for every well-formed GraphQL response.
    Json,
}

impl ResponseMedia {
    /// The `Content-Type` of an answer in this media type.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            ResponseMedia::GraphqlResponse => GRAPHQL_RESPONSE_JSON,
            ResponseMedia::Json => "application/json",
        }
    }

    /// The best media type `Accept` allows (highest `q`, first wins a tie); JSON when none.
    fn from_accept(accept: &str) -> Self {
        let mut best: Option<(f32, ResponseMedia)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .next()
                .unwrap_or(1.0);
            let candidate = match media.as_str() {
                GRAPHQL_RESPONSE_JSON => ResponseMedia::GraphqlResponse,
                "application/json" | "application/*" | "*/*" => ResponseMedia::Json,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, candidate));
            }
        }
        best.map_or(ResponseMedia::Json, |(_, media)| media)
    }
}

/// What the request body claims to be, from its `Content-Type` essence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyMedia {
    /// No `Content-Type`, or one that is not readable text.
    Absent,
    /// `application/json` or `application/graphql-response+json`.
    Json,
    /// A type a browser form or `fetch` can send cross-site without a preflight.
    Simple,
    /// Anything else.
    Other,
}

impl BodyMedia {
    fn from_content_type(value: Option<&str>) -> Self {
        let Some(value) = value else {
            return BodyMedia::Absent;
        };
        let essence = value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" | GRAPHQL_RESPONSE_JSON => BodyMedia::Json,
            "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data" => {
                BodyMedia::Simple
            }
            _ => BodyMedia::Other,
        }
    }
}

/// The negotiated media types of one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Negotiated {
    pub response: ResponseMedia,
    pub body: BodyMedia,
    /// The client sent a header that forces a browser to preflight.
    preflighted: bool,
}

impl Negotiated {
    /// Reads `Accept`, `Content-Type` and the preflight headers of `headers`.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let preflighted = ["apollo-require-preflight", "x-apollo-operation-name"]
            .iter()
            .any(|name| headers.get(*name).is_some_and(|v| !v.is_empty()));
        Negotiated {
            response: ResponseMedia::from_accept(text(header::ACCEPT).unwrap_or("")),
            body: BodyMedia::from_content_type(text(header::CONTENT_TYPE)),
            preflighted,
        }
    }

    /// Apollo's CSRF rule: a request a browser could send cross-site without a preflight (no
    /// content type, or a "simple" one) must carry a header that forces one.
    pub(crate) fn csrf_refused(&self) -> bool {
        matches!(self.body, BodyMedia::Absent | BodyMedia::Simple) && !self.preflighted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_quality_media_type_wins() {
        let pick = ResponseMedia::from_accept;
        assert_eq!(pick(""), ResponseMedia::Json);
        assert_eq!(
            pick("application/json;q=0.5, application/graphql-response+json"),
            ResponseMedia::GraphqlResponse
        );
        assert_eq!(
            pick("application/graphql-response+json;q=0, */*"),
            ResponseMedia::Json
        );
    }

    #[test]
    fn simple_and_missing_content_types_need_a_preflight_header() {
        let mut headers = HeaderMap::new();
        assert!(Negotiated::of(&headers).csrf_refused());
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(Negotiated::of(&headers).csrf_refused());
        headers.insert("apollo-require-preflight", "true".parse().unwrap());
        assert!(!Negotiated::of(&headers).csrf_refused());
        headers.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(Negotiated::of(&headers).body, BodyMedia::Json);
    }
}
