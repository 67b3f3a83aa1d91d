//! What an operation would cost once its fragments are expanded, computed without expanding
//! them: each fragment is measured once and its figures reused at every spread, so the time
//! is linear in the document's size however many times the fragments fan out.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{Name, Pos, Variables};
use async_graphql_value::{ConstValue, Value};

/// Page size assumed when a paged field is selected without `first` (the resolvers' default).
pub(crate) const DEFAULT_PAGE: u64 = 25;
/// Largest page a paged field returns; a bigger `first` is refused by the resolver anyway.
pub(crate) const MAX_PAGE: u64 = 100;

/// The expanded figures of a selection set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Measure {
    /// Fields after expanding fragments (`__typename` included); the selection of a paged
    /// field counts `first` times.
    pub cost: u64,
    /// Aliased fields after expanding fragments.
    pub aliases: u64,
    /// Fields directly in this selection set (through fragments, not inside fields).
    pub top_fields: u64,
    /// Deepest field nesting (a field without a selection is 1).
    pub depth: usize,
    /// Deepest nesting of selection sets, fragments and inline fragments included: the
    /// figure async-graphql's own recursion check counts.
    pub height: usize,
    /// Deepest nesting of introspection lists (`fields`, `inputFields`, `interfaces`,
    /// `possibleTypes`) inside `__schema` or `__type`.
    pub introspection_lists: usize,
}

impl Measure {
    fn add(&mut self, other: Measure) {
        self.cost = self.cost.saturating_add(other.cost);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.top_fields = self.top_fields.saturating_add(other.top_fields);
        self.depth = self.depth.max(other.depth);
        self.height = self.height.max(other.height);
        self.introspection_lists = self.introspection_lists.max(other.introspection_lists);
    }
}

/// Why a document could not be measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unmeasurable {
    /// A fragment spreads itself, directly or through others.
    Cycle { fragment: String, pos: Pos },
    /// Selection sets nest deeper than the limit (counted as [`Measure::height`]).
    TooDeep { limit: usize, pos: Pos },
}

/// Measures selection sets of one document; remembers each fragment's figures.
pub(crate) struct Measurer<'a> {
    doc: &'a ExecutableDocument,
    /// Field names that take `first` (paged fields of the schema).
    paged: &'a HashSet<String>,
    variables: &'a Variables,
    /// Default values of the executed operation's variables, for `first: $n` left unset.
    defaults: HashMap<&'a str, &'a ConstValue>,
    max_height: usize,
    memo: HashMap<(&'a str, bool), Visit>,
}

#[derive(Clone, Copy)]
enum Visit {
    InProgress,
    Done(Measure),
}

pub(crate) const INTROSPECTION_ROOTS: [&str; 2] = ["__schema", "__type"];
const INTROSPECTION_LISTS: [&str; 4] = ["fields", "inputFields", "interfaces", "possibleTypes"];

impl<'a> Measurer<'a> {
    /// A measurer for `doc`; `defaults` are the executed operation's variable defaults.
    pub(crate) fn new(
        doc: &'a ExecutableDocument,
        paged: &'a HashSet<String>,
        variables: &'a Variables,
        defaults: HashMap<&'a str, &'a ConstValue>,
        max_height: usize,
    ) -> Self {
        Measurer {
            doc,
            paged,
            variables,
            defaults,
            max_height,
            memo: HashMap::new(),
        }
    }

    /// The figures of an operation's selection set.
    pub(crate) fn operation(
        &mut self,
        set: &'a SelectionSet,
        pos: Pos,
    ) -> Result<Measure, Unmeasurable> {
        self.set(set, false, 0, pos)
    }

    fn set(
        &mut self,
        set: &'a SelectionSet,
        introspection: bool,
        level: usize,
        pos: Pos,
    ) -> Result<Measure, Unmeasurable> {
        // Bounds this walk's own recursion too: no input nests it deeper than `max_height`.
        if level > self.max_height {
            return Err(Unmeasurable::TooDeep {
                limit: self.max_height,
                pos,
            });
        }
        let mut total = Measure::default();
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    total.add(self.field(&field.node, introspection, level)?);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some(inner) = self.fragment(name, introspection, level, item.pos)? {
                        total.add(Measure {
                            height: inner.height + 1,
                            ..inner
                        });
                    }
                }
                Selection::InlineFragment(inline) => {
                    let set = &inline.node.selection_set;
                    let inner = self.set(&set.node, introspection, level + 1, set.pos)?;
                    total.add(Measure {
                        height: inner.height + 1,
                        ..inner
                    });
                }
            }
        }
        Ok(total)
    }

    fn field(
        &mut self,
        field: &'a Field,
        introspection: bool,
        level: usize,
    ) -> Result<Measure, Unmeasurable> {
        let name = field.name.node.as_str();
        let introspection = introspection || INTROSPECTION_ROOTS.contains(&name);
        let list = usize::from(introspection && INTROSPECTION_LISTS.contains(&name));
        let alias = u64::from(field.alias.is_some());
        let set = &field.selection_set;
        if set.node.items.is_empty() {
            return Ok(Measure {
                cost: 1,
                aliases: alias,
                top_fields: 1,
                depth: 1,
                height: 0,
                introspection_lists: list,
            });
        }
        let inner = self.set(&set.node, introspection, level + 1, set.pos)?;
        let page = self.page_size(field);
        Ok(Measure {
            cost: inner.cost.saturating_mul(page).saturating_add(1),
            aliases: inner.aliases.saturating_add(alias),
            top_fields: 1,
            depth: inner.depth + 1,
            height: inner.height + 1,
            introspection_lists: inner.introspection_lists + list,
        })
    }

    /// The figures of a fragment's selection set, measured on its first spread only.
    fn fragment(
        &mut self,
        name: &'a str,
        introspection: bool,
        level: usize,
        pos: Pos,
    ) -> Result<Option<Measure>, Unmeasurable> {
        let Some(fragment) = self.doc.fragments.get(&Name::new(name)) else {
            // Validation reports the unknown fragment.
            return Ok(None);
        };
        match self.memo.get(&(name, introspection)) {
            Some(Visit::Done(measure)) => {
                if level + 1 + measure.height > self.max_height {
                    return Err(Unmeasurable::TooDeep {
                        limit: self.max_height,
                        pos,
                    });
                }
                return Ok(Some(*measure));
            }
            Some(Visit::InProgress) => {
                return Err(Unmeasurable::Cycle {
                    fragment: name.to_owned(),
                    pos,
                });
            }
            None => {}
        }
        self.memo.insert((name, introspection), Visit::InProgress);
        let set = &fragment.node.selection_set;
        let measure = self.set(&set.node, introspection, level + 1, set.pos)?;
        self.memo
            .insert((name, introspection), Visit::Done(measure));
        Ok(Some(measure))
    }

    /// How many times a field's selection runs: `first` for a paged field (from the literal
    /// or the variable, [`DEFAULT_PAGE`] when absent, within 1..=[`MAX_PAGE`]), else once.
    fn page_size(&self, field: &Field) -> u64 {
        let first = field.get_argument("first").map(|arg| &arg.node);
        if first.is_none() && !self.paged.contains(field.name.node.as_str()) {
            return 1;
        }
        let number = match first {
            Some(Value::Variable(name)) => match self
                .variables
                .get(name)
                .or_else(|| self.defaults.get(name.as_str()).copied())
            {
                Some(ConstValue::Number(n)) => Some(n),
                _ => None,
            },
            Some(Value::Number(n)) => Some(n),
            _ => None,
        };
        // A negative or fractional `first` is refused by the resolver; count it as one.
        number.map_or(DEFAULT_PAGE, |n| {
            n.as_u64().map_or(1, |n| n.clamp(1, MAX_PAGE))
        })
    }
}
