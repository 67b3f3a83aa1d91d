//! The query bombs of issue 8, as request bodies: the guard's tests assert each is refused,
//! and `benches/bombs.rs` times the refusals.

use serde_json::{Value, json};

/// One hostile request.
pub(crate) struct Bomb {
    pub name: String,
    /// The POST body: one request, or an array for a batch.
    pub body: Value,
    /// The code of the refusal (of each operation, for a batch).
    pub code: &'static str,
}

/// `levels` fragments on `on`, each spreading the next `fan_out` times, the last selecting
/// `leaf`; `root` is the operation with `{}` where the first spread goes.
pub(crate) fn fan_out(root: &str, on: &str, levels: usize, fan_out: usize, leaf: &str) -> String {
    let mut doc = root.replace("{}", "...F0");
    for level in 0..levels {
        let next = format!("...F{} ", level + 1).repeat(fan_out);
        doc.push_str(&format!("\nfragment F{level} on {on} {{ {next}}}"));
    }
    doc.push_str(&format!("\nfragment F{levels} on {on} {{ {leaf} }}"));
    doc
}

fn repeat_join(n: usize, item: impl Fn(usize) -> String) -> String {
    (0..n).map(item).collect::<Vec<_>>().join(" ")
}

fn single(name: impl Into<String>, query: String, code: &'static str) -> Bomb {
    Bomb {
        name: name.into(),
        body: json!({ "query": query }),
        code,
    }
}

/// The fragment fan-outs (2, 4 and 8 spreads per level over 24 levels) with real fields,
/// with `__typename` leaves, and inside introspection types.
pub(crate) fn fragment_bombs(file: &str) -> Vec<Bomb> {
    let list = format!(
        "groupPolicyOperations(definitionFileId: \"{file}\", first: 1) {{ nodes {{ id }} }}"
    );
    let mut bombs = Vec::new();
    for n in [2, 4, 8] {
        let query = fan_out("query { {} }", "Query", 24, n, &list);
        bombs.push(single(
            format!("fan-out {n}, fields"),
            query,
            "LIMIT_EXCEEDED",
        ));
        let query = fan_out("query { {} }", "Query", 24, n, "__typename");
        bombs.push(single(
            format!("fan-out {n}, __typename"),
            query,
            "LIMIT_EXCEEDED",
        ));
        let root = "query { __schema { types { fields { {} } } } }";
        let query = fan_out(root, "__Field", 24, n, "name type { name }");
        bombs.push(single(
            format!("fan-out {n}, introspection"),
            query,
            "LIMIT_EXCEEDED",
        ));
    }
    bombs
}

/// Every bomb: the fragment fan-outs, a batch of ten of them, and the amplifications.
pub(crate) fn all(file: &str) -> Vec<Bomb> {
    let mut bombs = fragment_bombs(file);
    let batch: Vec<Value> = bombs
        .iter()
        .cycle()
        .take(10)
        .map(|b| b.body.clone())
        .collect();
    bombs.push(Bomb {
        name: "10 fan-outs in one batch".to_owned(),
        body: Value::Array(batch),
        code: "LIMIT_EXCEEDED",
    });
    let pages = repeat_join(200, |i| {
        format!(
            "a{i}: groupPolicyOperations(definitionFileId: \"{file}\", first: 100) {{ nodes {{ statusDetails }} }}"
        )
    });
    let amplifications = [
        ("200 pages of 100", format!("{{ {pages} }}"), "LIMIT_EXCEEDED"),
        (
            "999 _service { sdl }",
            format!("{{ {} }}", repeat_join(999, |i| format!("s{i}: _service {{ sdl }}"))),
            "LIMIT_EXCEEDED",
        ),
        (
            "40,000 __typename aliases",
            format!("{{ {} }}", repeat_join(40_000, |i| format!("a{i}: __typename"))),
            "LIMIT_EXCEEDED",
        ),
        (
            "50,000 __typename @aa",
            format!("{{ {} }}", "__typename @aa ".repeat(50_000)),
            "LIMIT_EXCEEDED",
        ),
        (
            "1,600 aliases (4,802 tokens)",
            format!("{{ {} }}", repeat_join(1_600, |i| format!("a{i}: __typename"))),
            "LIMIT_EXCEEDED",
        ),
        (
            "5,000 unused variables",
            format!("query({}) {{ __typename }}", repeat_join(5000, |i| format!("$v{i}: Int"))),
            "LIMIT_EXCEEDED",
        ),
        ("10,000 nested lists", format!("{{ a(b: {}) }}", "[".repeat(10_000)), "LIMIT_EXCEEDED"),
        (
            "introspection cycle",
            "{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }"
                .to_owned(),
            "LIMIT_EXCEEDED",
        ),
    ];
    bombs.extend(
        amplifications
            .into_iter()
            .map(|(name, query, code)| single(name, query, code)),
    );
    bombs
}
