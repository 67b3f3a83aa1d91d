//! The measure against a naive expansion of the same documents, and the guard's checks on
//! documents built to sit at each limit.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::parse_query;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, Variables};

use crate::telemetry::metrics::Metrics;

use super::measure::{DEFAULT_PAGE, MAX_PAGE, Measure, Measurer, Unmeasurable};
use super::*;

fn paged() -> HashSet<String> {
    ["groupPolicyOperations".to_owned()].into()
}

fn measure_with(query: &str, variables: Variables) -> Result<Measure, Unmeasurable> {
    let doc = parse_query(query).expect("parses");
    let paged = paged();
    let mut measurer = Measurer::new(&doc, &paged, &variables, HashMap::new(), MAX_RECURSION);
    let (_, op) = doc.operations.iter().next().expect("an operation");
    measurer.operation(&op.node.selection_set.node, op.pos)
}

fn measure(query: &str) -> Measure {
    measure_with(query, Variables::default()).expect("measurable")
}

/// The cost by expanding every spread, the way a naive validator walks the document.
fn naive_cost(doc: &ExecutableDocument, set: &SelectionSet, paged: &HashSet<String>) -> u64 {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                let inner = naive_cost(doc, &field.node.selection_set.node, paged);
                if inner == 0 {
                    return 1;
                }
                let page = match field.node.get_argument("first") {
                    Some(v) => v
                        .node
                        .to_string()
                        .parse::<u64>()
                        .unwrap_or(1)
                        .clamp(1, MAX_PAGE),
                    None if paged.contains(field.node.name.node.as_str()) => DEFAULT_PAGE,
                    None => 1,
                };
                1 + page * inner
            }
            Selection::FragmentSpread(spread) => {
                let fragment = &doc.fragments[&spread.node.fragment_name.node];
                naive_cost(doc, &fragment.node.selection_set.node, paged)
            }
            Selection::InlineFragment(inline) => {
                naive_cost(doc, &inline.node.selection_set.node, paged)
            }
        })
        .sum()
}

/// A small deterministic generator (xorshift), so the property runs the same cases each time.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A random acyclic document: fragment `F{i}` may spread only fragments with a larger index.
fn random_document(rng: &mut Rng) -> String {
    let fragments = 1 + rng.below(6);
    let body = |rng: &mut Rng, from: u64| {
        let mut items = Vec::new();
        for _ in 0..1 + rng.below(4) {
            match rng.below(5) {
                0 if from < fragments => {
                    items.push(format!("...F{}", from + rng.below(fragments - from)))
                }
                1 => items.push(format!(
                    "groupPolicyOperations(first: {}) {{ nodes {{ id }} }}",
                    rng.below(150)
                )),
                2 => items.push("a: __typename".to_owned()),
                3 => items.push("... on Query { b: id }".to_owned()),
                _ => items.push("x { y z }".to_owned()),
            }
        }
        items.join(" ")
    };
    let mut doc = format!("query {{ {} }}\n", body(rng, 0));
    for i in 0..fragments {
        doc.push_str(&format!(
            "fragment F{i} on Query {{ id {} }}\n",
            body(rng, i + 1)
        ));
    }
    doc
}

#[test]
fn the_memoised_cost_equals_the_naive_expansion_on_random_documents() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..300 {
        let text = random_document(&mut rng);
        let doc = parse_query(&text).expect("parses");
        let (_, op) = doc.operations.iter().next().expect("an operation");
        let expected = naive_cost(&doc, &op.node.selection_set.node, &paged());
        assert_eq!(measure(&text).cost, expected, "case {case}: {text}");
    }
}

/// `levels` fragments, each spreading the next `fan_out` times; the last selects `leaf`.
fn bomb(levels: usize, fan_out: usize, leaf: &str) -> String {
    let mut doc = String::from("query { ...F0 }\n");
    for level in 0..levels {
        let next = format!("...F{} ", level + 1).repeat(fan_out);
        doc.push_str(&format!("fragment F{level} on Query {{ {next} }}\n"));
    }
    doc.push_str(&format!("fragment F{levels} on Query {{ {leaf} }}\n"));
    doc
}

#[test]
fn a_fragment_bomb_is_measured_without_expanding_it() {
    let m = measure(&bomb(24, 8, "__typename"));
    assert_eq!(m.cost, u64::MAX, "8^24 saturates");
    assert_eq!(m.top_fields, u64::MAX);
    let m = measure(&bomb(10, 2, "__typename"));
    assert_eq!(m.cost, 1024);
    assert_eq!(m.height, 11);
    assert_eq!(m.depth, 1);
}

#[test]
fn a_cyclic_fragment_is_refused_not_followed() {
    let result = measure_with(
        "{ ...A } fragment A on Query { ...B } fragment B on Query { id ...A }",
        Variables::default(),
    );
    assert!(matches!(result, Err(Unmeasurable::Cycle { fragment, .. }) if fragment == "A"));
}

#[test]
fn nesting_past_the_recursion_limit_is_refused_also_through_a_remembered_fragment() {
    let deep = format!("{{ {}id{} }}", "a { ".repeat(40), " }".repeat(40));
    assert!(matches!(
        measure_with(&deep, Variables::default()),
        Err(Unmeasurable::TooDeep { .. })
    ));
    // F is measured shallow first, then spread 31 levels down.
    let inner = format!("{}...F{}", "... { ".repeat(31), " }".repeat(31));
    let query = format!("{{ ...F {inner} }} fragment F on Query {{ a {{ b {{ c }} }} }}");
    assert!(matches!(
        measure_with(&query, Variables::default()),
        Err(Unmeasurable::TooDeep { .. })
    ));
}

#[test]
fn paged_fields_cost_first_times_their_selection_and_nest_multiplicatively() {
    let nested =
        "{ files(first: 10) { nodes { groupPolicyOperations(first: 100) { nodes { id } } } } }";
    // files: 1 + 10 * (nodes: 1 + (gpo: 1 + 100 * (nodes: 1 + id: 1)))
    assert_eq!(measure(nested).cost, 1 + 10 * (1 + (1 + 100 * 2)));
    assert_eq!(
        measure("{ groupPolicyOperations { nodes { id } } }").cost,
        1 + 25 * 2
    );
    assert_eq!(
        measure("{ groupPolicyOperations(first: 500) { nodes { id } } }").cost,
        201
    );
    assert_eq!(
        measure("{ groupPolicyOperations(first: -3) { nodes { id } } }").cost,
        3
    );
    let vars = Variables::from_json(serde_json::json!({ "n": 7 }));
    let m = measure_with(
        "query($n: Int) { groupPolicyOperations(first: $n) { id } }",
        vars,
    );
    assert_eq!(m.expect("measurable").cost, 8);
}

#[test]
fn a_cached_document_is_measured_again_with_each_requests_variables() {
    use crate::graphql::documents::{DocumentCache, DocumentCacheSize};
    let size = DocumentCacheSize {
        entries: 10,
        bytes: 1 << 20,
    };
    let documents = DocumentCache::new(size, Metrics::new());
    let mut limits = test_limits();
    limits.query.max_complexity = 9;
    let text = "query($n: Int) { groupPolicyOperations(first: $n) { id } }";
    let with =
        |n: u64| Request::new(text).variables(Variables::from_json(serde_json::json!({ "n": n })));
    // Cost 1 + n: 8 is just within 9, 9 is just over.
    assert!(check_cached(&with(8), &limits, &documents).is_ok());
    let error = check_cached(&with(9), &limits, &documents).expect_err("cost 10 > 9");
    assert!(error.message.contains("cost 10"), "{}", error.message);
    assert!(check_cached(&with(8), &limits, &documents).is_ok());
    let stats = documents.stats();
    assert_eq!((stats.misses, stats.hits, stats.entries), (1, 2, 1));
}

#[test]
fn a_variables_default_prices_first_when_the_variable_is_not_sent() {
    let text = "query($n: Int = 4) { groupPolicyOperations(first: $n) { id } }";
    let limits = test_limits();
    let request = Request::new(text);
    assert!(check(&request, &limits).is_ok());
    let mut strict = test_limits();
    strict.query.max_complexity = 4;
    let error = check(&request, &strict).expect_err("cost 5 > 4");
    assert!(error.message.contains("cost 5"), "{}", error.message);
}

#[test]
fn introspection_lists_nest_at_most_twice() {
    let ok = "{ __schema { types { fields { type { fields { name } } } } } }";
    assert_eq!(measure(ok).introspection_lists, 2);
    let bomb = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    assert_eq!(measure(bomb).introspection_lists, 3);
    assert_eq!(
        measure("{ fields { fields { fields { id } } } }").introspection_lists,
        0
    );
}

fn test_limits() -> GuardLimits {
    GuardLimits {
        query: QueryLimits {
            max_tokens: 1000,
            max_depth: 16,
            max_complexity: 5000,
            max_aliases: 10,
            max_root_fields: 10,
            max_directives: 5,
        },
        federation: false,
        introspection: true,
        paged_fields: paged(),
        response: ResponseLimits {
            max_response_bytes: 1000,
            max_batch_response_bytes: 2000,
            max_errors: 3,
        },
        metrics: Metrics::new(),
    }
}

fn refusal(query: &str) -> String {
    let error = check(&Request::new(query), &test_limits()).expect_err("refused");
    let code = error
        .extensions
        .as_ref()
        .and_then(|e| e.get("code").cloned());
    format!("{code:?} {}", error.message)
}

#[test]
fn every_limit_refuses_with_its_name_and_figures() {
    let aliases = |n: usize| {
        format!(
            "{{ {} }}",
            (0..n)
                .map(|i| format!("a{i}: id"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    assert!(check(&Request::new(aliases(10)), &test_limits()).is_ok());
    assert!(
        refusal(&aliases(11)).contains("Too many aliases: the operation has 11; the limit is 10")
    );
    let roots = |n: usize| format!("{{ {} }}", "__typename ".repeat(n));
    assert!(check(&Request::new(roots(10)), &test_limits()).is_ok());
    assert!(refusal(&roots(11)).contains("Too many root fields: the operation has 11"));
    let directives = |n: usize| format!("{{ {} }}", "id @skip(if: false) ".repeat(n));
    assert!(check(&Request::new(directives(5)), &test_limits()).is_ok());
    assert!(refusal(&directives(6)).contains("Too many directives: the document has 6"));
    assert!(
        refusal(&"{ a } ".repeat(400))
            .contains("Too many tokens: the document has 1200; the limit is 1000")
    );
    assert!(refusal(&"[".repeat(65)).contains("nested brackets"));
    assert!(refusal("{ __typename @aa }").contains("GRAPHQL_VALIDATION_FAILED"));
    assert!(refusal("{ _service { sdl } }").contains("Unknown field \"_service\""));
    assert!(refusal("{ a ").contains("GRAPHQL_PARSE_FAILED"));
    for message in [refusal(&aliases(11)), refusal(&"{ a } ".repeat(400))] {
        assert!(
            message.starts_with("Some(String(\"LIMIT_EXCEEDED\"))"),
            "{message}"
        );
    }
}

#[test]
fn the_response_bounds_trim_errors_and_replace_oversized_responses() {
    let limits = test_limits().response;
    let mut response = async_graphql::Response::from_errors(
        (0..10)
            .map(|i| async_graphql::ServerError::new(format!("e{i}"), None))
            .collect(),
    );
    limits.bound(&mut response, &Metrics::new());
    assert_eq!(response.errors.len(), 4);
    assert!(response.errors[3].message.contains("7 more were left out"));
    let mut big = async_graphql::Response::new(async_graphql::Value::String("x".repeat(2000)));
    limits.bound(&mut big, &Metrics::new());
    assert_eq!(big.data, async_graphql::Value::Null);
    assert!(big.errors[0].message.contains("larger than 1000 bytes"));
    let small = || async_graphql::Response::new(async_graphql::Value::String("x".repeat(700)));
    let body =
        http_batch_body(&mut [small(), small(), small()], &limits, &Metrics::new()).expect("json");
    let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(body[1]["data"], serde_json::json!("x".repeat(700)));
    assert_eq!(body[2]["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED");
}

#[test]
fn an_http_body_is_serialised_once_and_held_to_the_response_cap_as_it_is() {
    let limits = test_limits().response;
    let text = |n: usize| async_graphql::Response::new(async_graphql::Value::String("x".repeat(n)));
    let mut fits = text(900);
    let body = http_body(&mut fits, &limits, &Metrics::new()).expect("json");
    assert_eq!(body, serde_json::to_vec(&text(900)).expect("json"));
    assert_eq!(
        fits.data,
        text(900).data,
        "a response within the cap is kept"
    );
    // The cap counts the bytes sent: 1000 fit, 1001 do not.
    let exact = 1000 - serde_json::to_vec(&text(0)).expect("json").len();
    assert_eq!(
        http_body(&mut text(exact), &limits, &Metrics::new())
            .expect("json")
            .len(),
        1000
    );
    let mut over = text(exact + 1);
    let body: serde_json::Value =
        serde_json::from_slice(&http_body(&mut over, &limits, &Metrics::new()).expect("json"))
            .expect("json");
    assert_eq!(body["data"], serde_json::Value::Null);
    assert_eq!(body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED");
    assert!(over.errors[0].message.contains("larger than 1000 bytes"));
    // In a batch, an oversized response is refused alone and the others are kept.
    let body =
        http_batch_body(&mut [text(2000), text(10)], &limits, &Metrics::new()).expect("json");
    let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert!(
        body[0]["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1000 bytes"))
    );
    assert_eq!(body[1]["data"], serde_json::json!("x".repeat(10)));
}
