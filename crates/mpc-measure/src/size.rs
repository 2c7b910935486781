//! Payload sizes on command lines: `16`, `64Ki`, `1M`.

use std::fmt;

/// Why a text is not an acceptable size (see [`parse_size`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeError {
    /// Not digits followed by one of the suffixes.
    Suffix(String),
    /// No number before the suffix (or one too long).
    Number(String),
    /// More than the largest size allowed.
    TooLarge {
        /// The text given.
        text: String,
        /// The largest size allowed, in bytes.
        max: u64,
    },
}

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeError::Suffix(s) => write!(
                f,
                "{s:?} is not a size: use a number of bytes, optionally followed by k, M, Ki or Mi"
            ),
            SizeError::Number(s) => {
                write!(f, "{s:?} is not a size: it must start with a number")
            }
            SizeError::TooLarge { text, max } => {
                write!(f, "{text:?} is too large: at most {max} bytes")
            }
        }
    }
}

impl std::error::Error for SizeError {}

/// A byte count with an optional suffix: k, M (10^3, 10^6), Ki, Mi (2^10,
/// 2^20), at most `max`.
pub fn parse_size(s: &str, max: u64) -> Result<u64, SizeError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, suffix) = t.split_at(split);
    let unit: u64 = match suffix {
        "" => 1,
        "k" | "K" => 1_000,
        "M" => 1_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        _ => return Err(SizeError::Suffix(s.to_owned())),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| SizeError::Number(s.to_owned()))?;
    n.checked_mul(unit)
        .filter(|b| *b <= max)
        .ok_or_else(|| SizeError::TooLarge {
            text: s.to_owned(),
            max,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        const GIB: u64 = 1 << 30;
        assert_eq!(parse_size("16", GIB), Ok(16));
        assert_eq!(parse_size("0", GIB), Ok(0));
        assert_eq!(parse_size("4k", GIB), Ok(4000));
        assert_eq!(parse_size("4K", GIB), Ok(4000));
        assert_eq!(parse_size("2M", GIB), Ok(2_000_000));
        assert_eq!(parse_size("1Ki", GIB), Ok(1024));
        assert_eq!(parse_size("256Mi", GIB), Ok(256 << 20));
        assert_eq!(parse_size(" 3Mi ", GIB), Ok(3 << 20));
        for bad in ["x", "1x", "2Gi", "1.5M", "-1"] {
            assert!(
                matches!(parse_size(bad, GIB), Err(SizeError::Suffix(_))),
                "{bad}"
            );
        }
        for bad in ["", "k", "99999999999999999999"] {
            assert!(
                matches!(parse_size(bad, GIB), Err(SizeError::Number(_))),
                "{bad}"
            );
        }
        assert_eq!(
            parse_size("2Ki", 2047).unwrap_err().to_string(),
            "\"2Ki\" is too large: at most 2047 bytes"
        );
        assert!(parse_size("99999999999999999Mi", u64::MAX).is_err());
    }
}
