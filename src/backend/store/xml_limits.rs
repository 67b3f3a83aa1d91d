//! A linear pass over an uploaded ADMX or ADML file before the XML parser sees it.
//!
//! roxmltree checks duplicate attributes and namespace declarations by comparing each with
//! every earlier one of its element, so one element with 110,000 attributes costs billions of
//! comparisons. This pass counts what makes parsing expensive (attributes and namespace
//! declarations per element and in all, elements, nesting, name and value lengths) in one
//! scan, so a file over any of the limits is refused before any quadratic work starts. Real
//! ADMX and ADML files are far inside every limit (a handful of attributes per element, three
//! namespace declarations, depth under 10).
//!
//! The scan only needs to find tags, not to check the XML: where it meets something it cannot
//! read, it stops and leaves the error to the parser, which fails there too, having parsed
//! only what the scan already found within the limits.

/// Most attributes (namespace declarations included) on one element.
pub(crate) const MAX_ATTRIBUTES_PER_ELEMENT: usize = 32;
/// Most namespace declarations (`xmlns`, `xmlns:p`) in one file.
pub(crate) const MAX_NAMESPACE_DECLARATIONS: usize = 32;
/// Most elements in one file.
pub(crate) const MAX_ELEMENTS: usize = 100_000;
/// Deepest nesting of elements.
pub(crate) const MAX_DEPTH: usize = 64;
/// Longest element or attribute name, in bytes.
pub(crate) const MAX_NAME_BYTES: usize = 1024;
/// Longest attribute value, in bytes.
pub(crate) const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Checks `text` against the limits; the error says which one it broke, ending with the phrase
/// Intune reports for a file it cannot parse.
pub(crate) fn check(name: &str, text: &str) -> Result<(), String> {
    scan(text.as_bytes()).map_err(|broken| {
        format!("{name} is too complex to read: {broken} (ContentParsingException)")
    })
}

fn scan(bytes: &[u8]) -> Result<(), String> {
    let mut at = 0;
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut namespaces = 0usize;
    while let Some(open) = find(bytes, at, b"<") {
        let rest = &bytes[open..];
        at = if rest.starts_with(b"<!--") {
            skip_past(bytes, open + 4, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            skip_past(bytes, open + 9, b"]]>")
        } else if rest.starts_with(b"<?") {
            skip_past(bytes, open + 2, b"?>")
        } else if rest.starts_with(b"<!") {
            // A DTD: the parser refuses it.
            return Ok(());
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            skip_past(bytes, open + 2, b">")
        } else {
            elements += 1;
            if elements > MAX_ELEMENTS {
                return Err(format!("it has more than {MAX_ELEMENTS} elements"));
            }
            let Some(tag) = start_tag(bytes, open + 1, &mut namespaces)? else {
                return Ok(());
            };
            if !tag.empty {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!(
                        "its elements are nested more than {MAX_DEPTH} deep"
                    ));
                }
            }
            Some(tag.end)
        }
        .unwrap_or(bytes.len());
    }
    Ok(())
}

/// A start tag read up to its `>`.
struct StartTag {
    /// Just past the `>`.
    end: usize,
    /// `<a/>`: opens no nesting.
    empty: bool,
}

/// Reads the start tag whose name begins at `at`; `None` where it is not well-formed (the
/// parser reports that).
fn start_tag(
    bytes: &[u8],
    mut at: usize,
    namespaces: &mut usize,
) -> Result<Option<StartTag>, String> {
    let name = name_end(bytes, at);
    if name - at > MAX_NAME_BYTES {
        return Err(format!(
            "an element name is longer than {MAX_NAME_BYTES} bytes"
        ));
    }
    at = name;
    let mut attributes = 0usize;
    loop {
        at = skip_space(bytes, at);
        match bytes.get(at) {
            None => return Ok(None),
            Some(b'>') => {
                return Ok(Some(StartTag {
                    end: at + 1,
                    empty: false,
                }));
            }
            Some(b'/') if bytes.get(at + 1) == Some(&b'>') => {
                return Ok(Some(StartTag {
                    end: at + 2,
                    empty: true,
                }));
            }
            Some(_) => {}
        }
        let name_start = at;
        at = name_end(bytes, at);
        if at == name_start {
            return Ok(None);
        }
        let attribute = &bytes[name_start..at];
        if attribute.len() > MAX_NAME_BYTES {
            return Err(format!(
                "an attribute name is longer than {MAX_NAME_BYTES} bytes"
            ));
        }
        attributes += 1;
        if attributes > MAX_ATTRIBUTES_PER_ELEMENT {
            return Err(format!(
                "an element has more than {MAX_ATTRIBUTES_PER_ELEMENT} attributes"
            ));
        }
        if attribute == b"xmlns" || attribute.starts_with(b"xmlns:") {
            *namespaces += 1;
            if *namespaces > MAX_NAMESPACE_DECLARATIONS {
                return Err(format!(
                    "it declares more than {MAX_NAMESPACE_DECLARATIONS} namespaces"
                ));
            }
        }
        at = skip_space(bytes, at);
        if bytes.get(at) != Some(&b'=') {
            return Ok(None);
        }
        at = skip_space(bytes, at + 1);
        let Some(&quote @ (b'"' | b'\'')) = bytes.get(at) else {
            return Ok(None);
        };
        let Some(close) = find(bytes, at + 1, &[quote]) else {
            return Ok(None);
        };
        if close - (at + 1) > MAX_VALUE_BYTES {
            return Err(format!(
                "an attribute value is longer than {MAX_VALUE_BYTES} bytes"
            ));
        }
        at = close + 1;
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).copied().is_some_and(is_space) {
        at += 1;
    }
    at
}

/// The end of a name starting at `at` (the first byte that cannot be in one).
fn name_end(bytes: &[u8], mut at: usize) -> usize {
    while let Some(&b) = bytes.get(at) {
        if is_space(b) || matches!(b, b'>' | b'/' | b'=' | b'<' | b'"' | b'\'') {
            break;
        }
        at += 1;
    }
    at
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let haystack = bytes.get(from..)?;
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| from + i)
}

fn skip_past(bytes: &[u8], from: usize, end: &[u8]) -> Option<usize> {
    find(bytes, from, end).map(|i| i + end.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        check("x.admx", text).expect_err("refused")
    }

    #[test]
    fn real_files_pass() {
        for sample in [
            "contoso-browser.admx",
            "en-US/contoso-browser.adml",
            "de-DE/contoso-browser.adml",
            "fabrikam-vpn.admx",
            "en-US/fabrikam-vpn.adml",
        ] {
            let path = format!("{}/playground/samples/{sample}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(path).expect("a sample");
            assert!(check(sample, &text).is_ok(), "{sample}");
        }
    }

    #[test]
    fn each_limit_refuses_in_one_pass() {
        let attributes: String = (0..33).map(|i| format!(" a{i}=\"\"")).collect();
        let err = refused(&format!("<policyDefinitions{attributes}/>"));
        assert!(err.contains("more than 32 attributes"), "{err}");
        assert!(err.ends_with("(ContentParsingException)"), "{err}");

        let declarations: String = (0..17).map(|i| format!(" xmlns:p{i}=\"u\"")).collect();
        let nested = format!("<a{declarations}><b{declarations}/></a>");
        assert!(refused(&nested).contains("more than 32 namespaces"));

        let deep = format!("{}{}", "<a>".repeat(65), "</a>".repeat(65));
        assert!(refused(&deep).contains("nested more than 64 deep"));
        let siblings = format!("<r>{}</r>", "<a></a>".repeat(64 * 4));
        assert!(check("x", &siblings).is_ok(), "closed elements do not nest");

        let many = format!("<r>{}</r>", "<a/>".repeat(MAX_ELEMENTS));
        assert!(refused(&many).contains("more than 100000 elements"));

        let long_value = format!("<a b=\"{}\"/>", "v".repeat(MAX_VALUE_BYTES + 1));
        assert!(refused(&long_value).contains("attribute value is longer"));
        let long_name = format!("<{}/>", "n".repeat(MAX_NAME_BYTES + 1));
        assert!(refused(&long_name).contains("element name is longer"));
    }

    #[test]
    fn markup_in_comments_values_and_cdata_is_not_counted() {
        let hidden = "<a/>".repeat(70);
        let text = format!(
            "<?xml version=\"1.0\"?><!-- {hidden} --><r x='<a><a>' y=\"/>\"><![CDATA[{}]]></r>",
            "<a>".repeat(70)
        );
        assert!(check("x", &text).is_ok());
        // Broken markup is left to the parser.
        assert!(check("x", "<a b=>").is_ok());
        assert!(check("x", "<!DOCTYPE a [<!ENTITY e 'x'>]><a/>").is_ok());
    }
}
