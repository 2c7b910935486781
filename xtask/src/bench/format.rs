//! Numbers and sizes as the page and the charts write them.

use super::plan::MIB;

/// A payload size: `16 B`, `64 KiB`, `256 MiB`.
pub(super) fn size_label(n: u64) -> String {
    if n >= MIB && n & (MIB - 1) == 0 {
        format!("{} MiB", n / MIB)
    } else if n >= 1024 && n & 1023 == 0 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} B")
    }
}

/// A number with about three significant digits, thousands grouped.
pub(super) fn num(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    if x.abs() >= 1000.0 {
        group(x)
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// An integer with thin spaces between groups of three digits.
pub(super) fn group(x: f64) -> String {
    let s = format!("{:.0}", x.round());
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// A number, or a dash if there is none.
pub(super) fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), num)
}

/// `a / b` as `1.23x`, or a dash.
pub(super) fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "–".into(),
    }
}

/// A duration in ns, ms or µs.
pub(super) fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(num(105.26), "105");
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(1.234), "1.23");
        assert_eq!(num(0.1234), "0.123");
        assert_eq!(num(42891.3), "42\u{2009}891");
        assert_eq!(num(f64::NAN), "–");
        assert_eq!(group(-1234567.0), "-1\u{2009}234\u{2009}567");
        assert_eq!(size_label(16), "16 B");
        assert_eq!(size_label(64 << 10), "64 KiB");
        assert_eq!(size_label(256 << 20), "256 MiB");
        assert_eq!(size_label(1000), "1000 B");
        assert_eq!(ratio(Some(3.0), Some(2.0)), "1.50x");
        assert_eq!(ratio(Some(3.0), None), "–");
        assert_eq!(opt(None), "–");
        assert_eq!(fmt_ns(1500.0), "1.50 µs");
        assert_eq!(fmt_ns(2.5e6), "2.50 ms");
        assert_eq!(fmt_ns(12.0), "12 ns");
    }
}
