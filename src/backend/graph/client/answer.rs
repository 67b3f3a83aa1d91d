//! What a successful Graph call gives back, its body read once into the type the caller
//! asked for: the entity, no content, or absent. Callers never see Graph's JSON, nor a `None`
//! that could mean either a 204 or a 404.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::super::envelope::{Body, read};
use crate::error::Error;

/// What a successful call gave back, its body read once as `T`.
#[derive(Debug)]
pub(crate) enum Answer<T> {
    /// The entity (or page) Graph answered with.
    Entity(T),
    /// Success without an entity: a 204, an empty body, or a POST acknowledged with a body
    /// that is not an entity (no `id`).
    NoContent,
    /// A GET's 404 that says the resource does not exist (see [`reply`](super::super::reply)).
    Absent,
}

impl<T> Answer<T> {
    /// The entity, if Graph sent one.
    pub(crate) fn entity(self) -> Option<T> {
        match self {
            Answer::Entity(entity) => Some(entity),
            Answer::NoContent | Answer::Absent => None,
        }
    }

    /// A successful reply's body for a request of `method`, read as `T`.
    pub(super) fn of(
        status: StatusCode,
        method: &Method,
        body: Option<Value>,
    ) -> Result<Self, Error>
    where
        T: Body,
    {
        match body {
            None if status == StatusCode::NOT_FOUND => Ok(Answer::Absent),
            None => Ok(Answer::NoContent),
            // Actions and creates may acknowledge with something that is not the entity.
            Some(body) if *method == Method::POST && body.get("id").is_none() => {
                Ok(Answer::NoContent)
            }
            // Taken apart: a file of a hundred operations holds hundreds of strings.
            Some(body) => read(body).map(Answer::Entity),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Thing {
        id: String,
    }

    impl Body for Thing {
        const WHAT: &'static str = "a thing";
    }

    #[test]
    fn an_answer_is_an_entity_no_content_or_absent_read_once() {
        let of = |status, method, body| Answer::<Thing>::of(status, &method, body);
        let entity = Some(json!({"id": "x", "@odata.context": "c"}));
        match of(StatusCode::OK, Method::GET, entity.clone()) {
            Ok(Answer::Entity(thing)) => assert_eq!(thing.id, "x"),
            other => panic!("an entity: {other:?}"),
        }
        assert!(matches!(
            of(StatusCode::NOT_FOUND, Method::GET, None),
            Ok(Answer::Absent)
        ));
        assert!(matches!(
            of(StatusCode::NO_CONTENT, Method::PATCH, None),
            Ok(Answer::NoContent)
        ));
        // An action acknowledged with something that is not the entity.
        assert!(matches!(
            of(StatusCode::OK, Method::POST, Some(json!({"value": true}))),
            Ok(Answer::NoContent)
        ));
        let error = of(StatusCode::OK, Method::PATCH, Some(json!({"value": true})))
            .expect_err("not a thing");
        assert_eq!(error.code(), crate::error::Code::UpstreamError);
        assert!(error.to_string().contains("returned a thing"), "{error}");
    }
}
