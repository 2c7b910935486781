//! The charts of docs/bench/: hand-written SVG, log-log line charts.

use std::fmt::Write as _;

use super::format::{num, size_label};
use super::plan::SIZES;
use super::results::{Metric, Results, Sys};

/// One line of a chart.
struct Series {
    name: &'static str,
    color: &'static str,
    points: Vec<(f64, f64)>,
}

/// The chart of `metric` against the payload size, a line per system.
pub(super) fn by_size(r: &Results, metric: Metric) -> String {
    let series = Sys::ALL
        .iter()
        .map(|&s| Series {
            name: s.label(),
            color: s.color(),
            points: SIZES
                .iter()
                .filter_map(|&z| metric.of(r, s, z).map(|v| (z as f64, v)))
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect::<Vec<_>>();
    let (title, y_label) = match metric {
        Metric::RoundTrip => (
            "Round trip against payload size (one message in flight)",
            "round trip (µs, log scale)",
        ),
        Metric::Throughput => (
            "Echo throughput against payload size (payload both ways)",
            "throughput (MB/s, log scale)",
        ),
    };
    chart(title, y_label, &series)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A line chart with log-scale x (the payload sizes) and log-scale y.
fn chart(title: &str, y_label: &str, series: &[Series]) -> String {
    const W: f64 = 760.0;
    const H: f64 = 460.0;
    let (left, right, top, bottom) = (80.0, 230.0, 50.0, 60.0);
    let (pw, ph) = (W - left - right, H - top - bottom);
    let xs: Vec<f64> = SIZES.iter().map(|&s| s as f64).collect();
    let (x0, x1) = (xs[0].log10(), xs[xs.len() - 1].log10());
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| *v > 0.0)
        .collect();
    let (mut y0, mut y1) = if ys.is_empty() {
        (0.0, 1.0)
    } else {
        (
            ys.iter().copied().fold(f64::MAX, f64::min).log10().floor(),
            ys.iter().copied().fold(f64::MIN, f64::max).log10().ceil(),
        )
    };
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    if !y0.is_finite() {
        y0 = 0.0;
    }
    let px = |x: f64| left + (x.log10() - x0) / (x1 - x0) * pw;
    let py = |y: f64| top + ph - (y.max(1e-300).log10() - y0) / (y1 - y0) * ph;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="Helvetica, Arial, sans-serif" font-size="12">"##
    );
    let _ = writeln!(s, r##"<rect width="{W}" height="{H}" fill="white"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="{}" y="28" font-size="15" text-anchor="middle">{}</text>"##,
        left + pw / 2.0,
        esc(title)
    );
    // grid and y ticks: each power of ten, with 2 and 5 as light lines
    let mut e = y0 as i32;
    while f64::from(e) <= y1 {
        for (k, major) in [(1.0, true), (2.0, false), (5.0, false)] {
            let v = k * 10f64.powi(e);
            if v.log10() > y1 + 1e-9 {
                continue;
            }
            let y = py(v);
            let _ = writeln!(
                s,
                r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="1"/>"##,
                left + pw,
                if major { "#cccccc" } else { "#eeeeee" }
            );
            if major {
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                    left - 6.0,
                    y + 4.0,
                    esc(&tick(v))
                );
            }
        }
        e += 1;
    }
    // x ticks: the payload sizes
    for &x in &xs {
        let xp = px(x);
        let _ = writeln!(
            s,
            r##"<line x1="{xp:.1}" y1="{top}" x2="{xp:.1}" y2="{:.1}" stroke="#eeeeee" stroke-width="1"/>"##,
            top + ph
        );
        let _ = writeln!(
            s,
            r##"<text x="{xp:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            top + ph + 18.0,
            esc(&size_label(x as u64))
        );
    }
    // axes
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333333" stroke-width="1"/>"##
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">payload size (log scale)</text>"##,
        left + pw / 2.0,
        H - 18.0
    );
    let _ = writeln!(
        s,
        r##"<text x="20" y="{:.1}" text-anchor="middle" transform="rotate(-90 20 {:.1})">{}</text>"##,
        top + ph / 2.0,
        top + ph / 2.0,
        esc(y_label)
    );
    // lines
    for (i, ser) in series.iter().enumerate() {
        let pts: Vec<String> = ser
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            s,
            r##"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"##,
            pts.join(" "),
            ser.color
        );
        for &(x, y) in &ser.points {
            let _ = writeln!(
                s,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}"><title>{}: {} — {}</title></circle>"##,
                px(x),
                py(y),
                ser.color,
                esc(ser.name),
                esc(&size_label(x as u64)),
                esc(&num(y))
            );
        }
        // legend
        let ly = top + 10.0 + i as f64 * 22.0;
        let lx = left + pw + 16.0;
        let _ = writeln!(
            s,
            r##"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{}" stroke-width="2"/><circle cx="{:.1}" cy="{ly}" r="3.5" fill="{}"/>"##,
            lx + 24.0,
            ser.color,
            lx + 12.0,
            ser.color
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}">{}</text>"##,
            lx + 30.0,
            ly + 4.0,
            esc(ser.name)
        );
    }
    let _ = writeln!(s, "</svg>");
    s
}

fn tick(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{}k", v / 1e3)
    } else if v >= 1.0 {
        format!("{v}")
    } else {
        format!("{v:.3}").trim_end_matches('0').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_is_svg() {
        let svg = chart(
            "t",
            "y",
            &[Series {
                name: "a <b>",
                color: "#000",
                points: vec![(16.0, 50.0), (16.0 * 1024.0 * 1024.0, 40000.0)],
            }],
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt;b&gt;"));
        assert_eq!(tick(1000.0), "1k");
        assert_eq!(tick(0.01), "0.01");
    }
}
