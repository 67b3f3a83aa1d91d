//! Reads ADMX and ADML files the way Intune's ingestion checks them, with a real XML parser:
//! well-formed XML, the right root element, the target namespace, the revision, and every
//! `$(string.X)` / `$(presentation.X)` reference of the ADMX defined in each ADML.
//!
//! Failure texts name the file and the problem, ending with the phrase Intune itself reports
//! for that class of problem, so a front end sees what it would see against a tenant.

use std::collections::BTreeSet;

use roxmltree::{Document, Node, ParsingOptions};

/// What an ADMX file declares.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Admx {
    pub target_prefix: String,
    pub target_namespace: String,
    pub revision: String,
    /// Namespaces of other ADMX files this one builds on (`policyNamespaces/using`).
    pub using: Vec<String>,
    pub policies: usize,
    pub categories: usize,
    strings: BTreeSet<String>,
    presentations: BTreeSet<String>,
}

/// What an ADML file provides.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Adml {
    pub display_name: Option<String>,
    pub description: Option<String>,
    strings: BTreeSet<String>,
    presentations: BTreeSet<String>,
}

fn parse<'a>(name: &str, text: &'a str) -> Result<Document<'a>, String> {
    // Linear checks first: the parser's own are quadratic in attributes per element.
    super::xml_limits::check(name, text)?;
    // DTDs are refused (the default): no entity expansion from uploaded bytes. Elements are
    // bounded by the check above; text and comment nodes by this.
    let options = ParsingOptions {
        nodes_limit: u32::try_from(4 * super::xml_limits::MAX_ELEMENTS).unwrap_or(u32::MAX),
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options)
        .map_err(|e| format!("{name} is not well-formed XML: {e} (ContentParsingException)"))
}

fn text<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| format!("{name} is not UTF-8 text (ContentParsingException)"))?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

fn child<'a, 'i>(node: Node<'a, 'i>, tag: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name(tag))
}

/// Reads an ADMX file; the error says what is wrong with it.
pub(crate) fn read_admx(name: &str, bytes: &[u8]) -> Result<Admx, String> {
    let document = parse(name, text(name, bytes)?)?;
    let root = document.root_element();
    if root.tag_name().name() != "policyDefinitions" {
        return Err(format!(
            "{name} is not an ADMX file: its root element is <{}>, expected <policyDefinitions> \
             (ContentParsingException)",
            root.tag_name().name()
        ));
    }
    let revision = root
        .attribute("revision")
        .ok_or_else(|| format!("{name} has no revision attribute on <policyDefinitions>"))?;
    let namespaces = child(root, "policyNamespaces");
    let target = namespaces
        .and_then(|n| child(n, "target"))
        .and_then(|t| Some((t.attribute("prefix")?, t.attribute("namespace")?)))
        .ok_or_else(|| {
            format!("{name} declares no policyNamespaces/target with a prefix and a namespace")
        })?;
    let using = namespaces
        .map(|n| {
            n.children()
                .filter(|c| c.has_tag_name("using"))
                .filter_map(|c| c.attribute("namespace").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut strings = BTreeSet::new();
    let mut presentations = BTreeSet::new();
    for node in root.descendants().filter(Node::is_element) {
        for attribute in node.attributes() {
            let value = attribute.value().trim();
            if let Some(id) = reference(value, "string") {
                strings.insert(id.to_owned());
            } else if let Some(id) = reference(value, "presentation") {
                presentations.insert(id.to_owned());
            }
        }
    }
    let count = |section: &str, tag: &str| {
        child(root, section).map_or(0, |s| s.children().filter(|c| c.has_tag_name(tag)).count())
    };
    Ok(Admx {
        target_prefix: target.0.to_owned(),
        target_namespace: target.1.to_owned(),
        revision: revision.to_owned(),
        using,
        policies: count("policies", "policy"),
        categories: count("categories", "category"),
        strings,
        presentations,
    })
}

/// `$(kind.id)` -> `id`.
fn reference<'a>(value: &'a str, kind: &str) -> Option<&'a str> {
    value
        .strip_prefix("$(")?
        .strip_suffix(')')?
        .strip_prefix(kind)?
        .strip_prefix('.')
}

/// Reads an ADML file; the error says what is wrong with it.
pub(crate) fn read_adml(name: &str, bytes: &[u8]) -> Result<Adml, String> {
    let document = parse(name, text(name, bytes)?)?;
    let root = document.root_element();
    if root.tag_name().name() != "policyDefinitionResources" {
        return Err(format!(
            "{name} is not an ADML file: its root element is <{}>, expected \
             <policyDefinitionResources> (ContentParsingException)",
            root.tag_name().name()
        ));
    }
    let resources = child(root, "resources");
    let ids = |table: &str, tag: &str| -> BTreeSet<String> {
        resources
            .and_then(|r| child(r, table))
            .map(|t| {
                t.children()
                    .filter(|c| c.has_tag_name(tag))
                    .filter_map(|c| c.attribute("id").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let own_text = |tag: &str| {
        child(root, tag)
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
    };
    Ok(Adml {
        display_name: own_text("displayName"),
        description: own_text("description"),
        strings: ids("stringTable", "string"),
        presentations: ids("presentationTable", "presentation"),
    })
}

/// Checks that `adml` (file `name`) defines everything `admx` (file `admx_name`) refers to.
pub(crate) fn check_references(
    admx_name: &str,
    admx: &Admx,
    name: &str,
    adml: &Adml,
) -> Result<(), String> {
    if let Some(missing) = admx.strings.iter().find(|id| !adml.strings.contains(*id)) {
        return Err(format!(
            "{admx_name} refers to string '{missing}', which {name} does not define: \
             localizedStringValue cannot be null"
        ));
    }
    if let Some(missing) = admx
        .presentations
        .iter()
        .find(|id| !adml.presentations.contains(*id))
    {
        return Err(format!(
            "{admx_name} refers to presentation '{missing}', which {name} does not define: \
             Value cannot be null. Parameter name: presentation"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMX: &str = r#"<?xml version="1.0"?>
<policyDefinitions revision="2.1" xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">
  <policyNamespaces><target prefix="t" namespace="T.Policies"/><using prefix="w" namespace="Microsoft.Policies.Windows"/></policyNamespaces>
  <categories><category name="C" displayName="$(string.C)"/></categories>
  <policies><policy name="P" displayName="$(string.P)" presentation="$(presentation.P)"/></policies>
</policyDefinitions>"#;

    fn adml(strings: &str) -> String {
        format!(
            r#"<policyDefinitionResources revision="2.1"><displayName> T </displayName>
<resources><stringTable>{strings}</stringTable><presentationTable><presentation id="P"/></presentationTable></resources>
</policyDefinitionResources>"#
        )
    }

    #[test]
    fn reads_what_intune_reads() {
        let admx = read_admx("t.admx", ADMX.as_bytes()).expect("valid");
        assert_eq!(admx.target_prefix, "t");
        assert_eq!(admx.target_namespace, "T.Policies");
        assert_eq!(admx.revision, "2.1");
        assert_eq!(admx.using, vec!["Microsoft.Policies.Windows".to_owned()]);
        assert_eq!((admx.policies, admx.categories), (1, 1));
        let full = read_adml(
            "t.adml",
            adml(r#"<string id="C">c</string><string id="P">p</string>"#).as_bytes(),
        )
        .expect("valid");
        assert_eq!(full.display_name.as_deref(), Some("T"));
        assert!(check_references("t.admx", &admx, "en-US/t.adml", &full).is_ok());
        let partial =
            read_adml("t.adml", adml(r#"<string id="C">c</string>"#).as_bytes()).expect("valid");
        let err = check_references("t.admx", &admx, "en-US/t.adml", &partial).expect_err("missing");
        assert!(
            err.contains("'P'") && err.contains("localizedStringValue cannot be null"),
            "{err}"
        );
    }

    #[test]
    fn refuses_broken_and_foreign_documents() {
        let err = read_admx("x.admx", b"<policyDefinitions").expect_err("broken");
        assert!(err.contains("not well-formed"), "{err}");
        let err = read_admx("x.admx", b"<html/>").expect_err("foreign");
        assert!(err.contains("<html>"), "{err}");
        let err =
            read_admx("x.admx", b"<policyDefinitions revision=\"1\"/>").expect_err("no target");
        assert!(err.contains("policyNamespaces/target"), "{err}");
        let dtd = b"<!DOCTYPE a [<!ENTITY e \"x\">]><policyDefinitions/>";
        assert!(read_admx("x.admx", dtd).is_err());
        assert!(read_adml("x.adml", b"<policyDefinitions/>").is_err());
        assert!(read_adml("x.adml", &[0xff, 0xfe]).is_err());
    }
}
