//! Markdown tables: a head, rows, and the table of one figure per system
//! against the payload size (round trips, throughput).

use std::fmt::{Display, Write as _};

use super::format::{opt, ratio, size_label};
use super::plan::SIZES;
use super::results::{Metric, Results, Sys};

/// The head of a table: the column names, and their alignment, a letter a
/// column: `l` left, `r` right.
pub(super) fn head(w: &mut String, columns: &[&str], align: &str) {
    debug_assert_eq!(columns.len(), align.len());
    w.push('|');
    for c in columns {
        if c.is_empty() {
            w.push_str(" |");
        } else {
            let _ = write!(w, " {c} |");
        }
    }
    w.push_str("\n|");
    for a in align.chars() {
        w.push_str(if a == 'r' { "---:|" } else { "---|" });
    }
    w.push('\n');
}

/// A row of a table.
pub(super) fn row<T: Display>(w: &mut String, cells: &[T]) {
    w.push('|');
    for c in cells {
        let _ = write!(w, " {c} |");
    }
    w.push('\n');
}

/// `metric` against the payload size, one column per system, then the
/// ratios: Rust/raw and TLS/plain (as they are), and how many times the
/// Rust pair is faster than the Python pair.
pub(super) fn by_size(w: &mut String, r: &Results, metric: Metric) {
    let unit = metric.unit();
    let rust_vs_python = match metric {
        Metric::RoundTrip => "Python/Rust",
        Metric::Throughput => "Rust/Python",
    };
    let columns = [
        "payload".to_owned(),
        format!("raw TCP {unit}"),
        format!("Rust HTTP {unit}"),
        format!("Rust TLS {unit}"),
        format!("Python {unit}"),
        "Rust/raw".to_owned(),
        rust_vs_python.to_owned(),
        "TLS/plain".to_owned(),
    ];
    head(w, &columns.each_ref().map(String::as_str), "rrrrrrrr");
    for &size in &SIZES {
        let [raw, plain, tls, python] = Sys::ALL.map(|sys| metric.of(r, sys, size));
        let faster = match metric {
            Metric::RoundTrip => ratio(python, plain),
            Metric::Throughput => ratio(plain, python),
        };
        row(
            w,
            &[
                size_label(size),
                opt(raw),
                opt(plain),
                opt(tls),
                opt(python),
                ratio(plain, raw),
                faster,
                ratio(tls, plain),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_rows() {
        let mut w = String::new();
        head(&mut w, &["", ""], "ll");
        head(&mut w, &["a", "b"], "lr");
        row(&mut w, &["x", "1"]);
        assert_eq!(w, "| | |\n|---|---|\n| a | b |\n|---|---:|\n| x | 1 |\n");
    }

    #[test]
    fn a_table_by_size() {
        let mut w = String::new();
        by_size(&mut w, &Results::default(), Metric::Throughput);
        assert!(w.starts_with(
            "| payload | raw TCP MB/s | Rust HTTP MB/s | Rust TLS MB/s | Python MB/s | \
             Rust/raw | Rust/Python | TLS/plain |\n|---:|"
        ));
        assert!(w.contains("| 16 MiB | – | – | – | – | – | – | – |"));
    }
}
