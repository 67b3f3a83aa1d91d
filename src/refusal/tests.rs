//! Each refusal's status, code, label and message, from its one match.

use super::*;

#[test]
fn a_refusal_names_its_limit_and_numbers_in_one_answer() {
    let refusal = Refusal::InFlight { limit: 7 };
    assert_eq!(refusal.limit().as_str(), "max_in_flight");
    assert_eq!(
        refusal.http_status(),
        Some((503, Some(RETRY_AFTER_SECONDS)))
    );
    let error = Error::from(refusal);
    assert_eq!(error.code(), Code::LimitExceeded);
    assert_eq!(
        error.client_message(),
        "The gateway is serving its maximum of 7 requests; retry in 1 s"
    );
    let tokens = Refusal::Tokens {
        found: 12,
        limit: 10,
    };
    assert_eq!(
        tokens.to_string(),
        "Too many tokens: the document has 12; the limit is 10"
    );
    assert_eq!(tokens.http_status(), None);
}

#[test]
fn the_body_refusals_share_one_label_and_status() {
    let bodies = [
        Refusal::BodyBytes { limit: 1 },
        Refusal::BodyBytesRead { plain: 1, limit: 2 },
        Refusal::BodyOutsideVariables { plain: 1, limit: 2 },
    ];
    for refusal in bodies {
        assert_eq!(refusal.limit(), Limit::MaxBodyBytes);
        assert_eq!(refusal.http_status(), Some((413, None)));
    }
}
