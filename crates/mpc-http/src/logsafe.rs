//! Making text that came from the network safe to write into logs.
//!
//! Names in certificates, header values and the like are chosen by whoever
//! sent them. Written into a log as they are, a newline starts a forged log
//! line, an ANSI escape sequence rewrites the terminal, and a bidirectional
//! override (U+202E) makes a line read differently from what it holds.
//! [`escape`] turns every such character into a visible escape, so one
//! logged value stays one piece of one line.

use std::borrow::Cow;

/// `s` with every character escaped that could forge or disguise log
/// output: control characters (`\n`, `\r`, `\t` as such, others as
/// `\u{..}`), other characters that are not printable (format characters
/// such as bidirectional overrides and zero-width spaces, line and paragraph
/// separators, private-use and unassigned code points, non-breaking
/// spaces, combining marks), and the backslash itself (as `\\`), so an
/// escape in the output always comes from this function. Quotes and all
/// printable characters, ASCII or not, are kept; so is the plain space.
///
/// Borrows `s` when nothing needs escaping (the usual case).
pub(crate) fn escape(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_plain) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_plain(c) {
            out.push(c);
        } else {
            // `escape_debug` also covers the backslash (`\\`); every
            // character it would leave alone is plain.
            out.extend(c.escape_debug());
        }
    }
    Cow::Owned(out)
}

/// Whether `c` is written to logs as it is.
fn is_plain(c: char) -> bool {
    if c == '"' || c == '\'' {
        // `escape_debug` escapes quotes for Rust literals; in log text they
        // are harmless.
        return true;
    }
    // Printable characters are exactly those `escape_debug` leaves alone
    // (the standard library's Unicode printability table).
    let mut escaped = c.escape_debug();
    escaped.next() == Some(c) && escaped.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        for s in [
            "",
            "alice",
            "My Root CA",
            "party_0:2",
            "Zürich, 東京",
            "O'Brien \"quoted\"",
        ] {
            assert!(matches!(escape(s), Cow::Borrowed(b) if b == s), "{s:?}");
        }
    }

    #[test]
    fn control_and_invisible_characters_are_escaped() {
        let cases = [
            ("a\nb", "a\\nb"),
            ("a\r\nb", "a\\r\\nb"),
            ("tab\there", "tab\\there"),
            ("nul\0", "nul\\0"),
            ("\u{1b}[31mred", "\\u{1b}[31mred"),
            ("del\u{7f}", "del\\u{7f}"),
            ("c1\u{85}next", "c1\\u{85}next"),
            ("bidi\u{202e}gpj.exe", "bidi\\u{202e}gpj.exe"),
            ("zero\u{200b}width", "zero\\u{200b}width"),
            ("line\u{2028}sep", "line\\u{2028}sep"),
            ("bom\u{feff}", "bom\\u{feff}"),
            ("back\\slash", "back\\\\slash"),
            ("nb\u{a0}sp", "nb\\u{a0}sp"),
        ];
        for (input, expected) in cases {
            assert_eq!(escape(input), expected, "{input:?}");
        }
    }

    #[test]
    fn output_never_holds_a_control_character() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let escaped = escape(&all);
        assert!(!escaped.chars().any(char::is_control), "{escaped}");
        assert!(!escaped.contains('\u{202e}'));
    }

    #[test]
    fn escaping_is_unambiguous() {
        // A literal backslash-n and a real newline must not look alike.
        assert_ne!(escape("a\\nb"), escape("a\nb"));
    }
}
