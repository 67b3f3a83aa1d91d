//! A lexer that only counts: how many GraphQL tokens a document has and how deeply its
//! brackets nest. It runs before the real (pest) parser, in one linear pass without
//! allocating, so a document of a million tokens or a thousand open braces is refused before
//! the parser spends time or stack on it.

/// What the counting lexer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TextShape {
    /// Lexical tokens (punctuators, names, numbers, strings), as the GraphQL spec defines them.
    pub tokens: usize,
    /// Deepest nesting of `{`, `(` and `[`.
    pub nesting: usize,
}

/// Counts the tokens of `text` and its deepest bracket nesting.
///
/// Exact for a valid document; for an invalid one the figures are close enough to judge its
/// size (the parser reports the syntax error afterwards).
pub(crate) fn scan(text: &str) -> TextShape {
    let bytes = text.as_bytes();
    let mut shape = TextShape::default();
    let mut open = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                i = skip_line(bytes, i);
                continue;
            }
            b'{' | b'(' | b'[' => {
                open += 1;
                shape.nesting = shape.nesting.max(open);
                i += 1;
            }
            b'}' | b')' | b']' => {
                open = open.saturating_sub(1);
                i += 1;
            }
            b'"' => i = skip_string(bytes, i),
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            b'-' | b'0'..=b'9' => i = skip_number(bytes, i),
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => i = skip_name(bytes, i),
            // The byte order mark is ignored like white space; any other byte is one token
            // (a punctuator, or something the parser will refuse).
            0xEF if bytes[i..].starts_with(b"\xEF\xBB\xBF") => {
                i += 3;
                continue;
            }
            _ => i += utf8_len(byte),
        }
        shape.tokens += 1;
    }
    shape
}

fn skip_line(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(bytes.len(), |n| from + n)
}

/// Past the string starting at `from` (a `"` or `"""`), escapes included.
fn skip_string(bytes: &[u8], from: usize) -> usize {
    if bytes[from..].starts_with(b"\"\"\"") {
        let mut i = from + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return bytes.len();
    }
    let mut i = from + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            // A line break ends an unterminated string: the parser refuses it.
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn skip_number(bytes: &[u8], from: usize) -> usize {
    let mut i = from + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'0'..=b'9' | b'.' | b'e' | b'E' => i += 1,
            b'+' | b'-' if matches!(bytes[i - 1], b'e' | b'E') => i += 1,
            _ => break,
        }
    }
    i
}

fn skip_name(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| !(b == b'_' || b.is_ascii_alphanumeric()))
        .map_or(bytes.len(), |n| from + n)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> usize {
        scan(text).tokens
    }

    #[test]
    fn counts_each_token_of_a_query_once() {
        // { a : b ( first : 10 x : "s" ) @ skip ( if : $ v ) { c ... F } }
        let query = r#"{ a: b(first: 10, x: "s") @skip(if: $v) { c ...F } }"#;
        assert_eq!(tokens(query), 26);
    }

    #[test]
    fn ignores_white_space_commas_comments_and_the_byte_order_mark() {
        assert_eq!(tokens("\u{feff}{ a,,, b # c d e\n }"), 4);
        assert_eq!(tokens(""), 0);
        assert_eq!(tokens("# only a comment"), 0);
    }

    #[test]
    fn a_string_is_one_token_whatever_it_holds() {
        assert_eq!(tokens(r#"{ a(s: "x { y } \" z") }"#), 8);
        assert_eq!(tokens(r#"{ a(s: """ block " "" \""" { } """) }"#), 8);
    }

    #[test]
    fn numbers_are_one_token() {
        // { a ( x : -1.5e+10 y : 0 ) }
        assert_eq!(tokens("{ a(x: -1.5e+10, y: 0) }"), 11);
    }

    #[test]
    fn nesting_counts_open_brackets() {
        assert_eq!(scan("{ a { b(x: [[1]]) } }").nesting, 5);
        assert_eq!(scan(&"{".repeat(1000)).nesting, 1000);
        assert_eq!(scan("}}}{").nesting, 1);
    }

    #[test]
    fn unterminated_strings_and_stray_bytes_end_without_panicking() {
        for text in [
            "\"abc",
            "\"\"\"abc",
            "\"a\\",
            "é{",
            "...",
            "..",
            "-",
            "\u{1F600}",
        ] {
            let _ = scan(text);
        }
        assert_eq!(tokens("\"abc\n}"), 2);
    }
}
