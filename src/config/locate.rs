//! Field paths for errors serde-saphyr reports with only a line and column.
//!
//! serde-saphyr's errors carry a location but no path. A second pass reads the same text into
//! a tree of [`Spanned`] nodes (duplicate keys allowed, so the tree exists even when the typed
//! pass failed on one) and records the path of every key and value with its location; an
//! error's path is the entry at its location (or the last one before it).

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Location, Spanned};

/// A YAML node, reduced to its structure.
enum Node {
    Scalar,
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Map(entries))
    }
}

/// Whether an entry is a mapping key or a value (the first key of a block mapping shares its
/// mapping's location).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A mapping key: `pipelines[0].zz` for an unknown key `zz`.
    Key,
    /// A value (scalar, sequence or mapping).
    Value,
    /// The mapping around the node (serde-saphyr places a missing field at a key of the
    /// mapping that lacks it).
    Container,
}

/// Every node's location and path.
#[derive(Debug, Default)]
pub(crate) struct PathIndex {
    entries: Vec<(u64, u64, Role, String)>,
}

impl PathIndex {
    /// Indexes `text`; an empty index if it is not even YAML.
    pub(crate) fn new(text: &str) -> Self {
        let options = serde_saphyr::options! {
            with_snippet: false,
            duplicate_keys: DuplicateKeyPolicy::LastWins,
        };
        let mut index = PathIndex::default();
        if let Ok(root) = serde_saphyr::from_str_with_options::<Spanned<Node>>(text, options) {
            index.add(&root, String::new());
        }
        index
    }

    fn push(&mut self, at: Location, role: Role, path: &str) {
        self.entries.push((at.line(), at.column(), role, path.to_owned()));
    }

    fn add(&mut self, node: &Spanned<Node>, path: String) {
        self.push(node.referenced, Role::Value, &path);
        match &node.value {
            Node::Scalar => {}
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.add(item, format!("{path}[{i}]"));
                }
            }
            Node::Map(entries) => {
                for (key, value) in entries {
                    let child = join(&path, &key.value);
                    self.push(key.referenced, Role::Key, &child);
                    self.add(value, child);
                }
            }
        }
    }

    /// The path of the node at `line`:`column` in `role`, or the nearest node before it.
    pub(crate) fn path_at(&self, line: u64, column: u64, role: Role) -> String {
        let exact = |r: Role| {
            self.entries.iter().find(|(l, c, er, _)| (*l, *c) == (line, column) && *er == r)
        };
        let before = || {
            self.entries
                .iter()
                .filter(|(l, c, _, _)| (*l, *c) <= (line, column))
                .max_by_key(|(l, c, _, _)| (*l, *c))
        };
        if role == Role::Container
            && let Some((_, _, _, path)) = exact(Role::Key)
        {
            return parent(path).to_owned();
        }
        exact(role)
            .or_else(|| exact(Role::Value))
            .or_else(|| exact(Role::Key))
            .or_else(before)
            .map(|(_, _, _, path)| path.clone())
            .unwrap_or_default()
    }
}

/// `parent.key`, or `key` at the root.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

/// `a.b[0]` of `a.b[0].c`, `a.b` of `a.b[0]`, empty at the root.
fn parent(path: &str) -> &str {
    match path.rfind(['.', '[']) {
        Some(end) => path.get(..end).unwrap_or_default(),
        None => "",
    }
}
