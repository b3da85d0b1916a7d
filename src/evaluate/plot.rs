//! HR@10 of the warm targets over event time, one line per run, as a plain SVG (no
//! plotting crate: a few dozen lines of markup, no fonts or system libraries).

use std::fmt::Write;

use super::{Report, Target};

const BUCKETS: usize = 20;
const COLOURS: [&str; 7] = ["#1f77b4", "#7f7f7f", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
const W: f64 = 900.0;
const H: f64 = 460.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

pub fn svg(report: &Report, targets: &[Target]) -> String {
    let warm: Vec<&Target> = targets.iter().filter(|t| t.warm).collect();
    let (t0, t1) = match (warm.first(), warm.last()) {
        (Some(a), Some(b)) => (a.tick, b.tick.max(a.tick + 1)),
        _ => (0, 1),
    };
    let width = (t1 - t0) as f64 / BUCKETS as f64;
    let bucket = |tick: u64| (((tick - t0) as f64 / width) as usize).min(BUCKETS - 1);
    // Per run, per bucket: (targets, hits).
    let series: Vec<(String, Vec<Option<f64>>)> = report
        .runs
        .iter()
        .map(|run| {
            let mut counts = [(0u64, 0u64); BUCKETS];
            for (t, r) in targets.iter().zip(&run.warm_ranks) {
                if let Some(rank) = r {
                    let b = bucket(t.tick);
                    counts[b].0 += 1;
                    counts[b].1 += u64::from(rank.is_some());
                }
            }
            (run.name.clone(), counts.iter().map(|(n, h)| (*n > 0).then(|| *h as f64 / *n as f64)).collect())
        })
        .collect();
    let top = series.iter().flat_map(|(_, s)| s.iter().flatten()).fold(0.05f64, |m, v| m.max(*v));
    let top = (top / 0.05).ceil() * 0.05;
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let x = |b: usize| LEFT + (b as f64 + 0.5) / BUCKETS as f64 * pw;
    let y = |v: f64| TOP + ph - v / top * ph;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let title = format!(
        "{}: HR@10 of warm targets over event time ({} buckets, scored: {:?})",
        escape(&report.name),
        BUCKETS,
        report.score
    );
    let _ = write!(s, r#"<text x="{LEFT}" y="22" font-size="14">{title}</text>"#);
    for k in 0..=4 {
        let v = top * k as f64 / 4.0;
        let yy = y(v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v:.3}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    for k in 0..=4 {
        let tick = t0 + ((t1 - t0) as f64 * k as f64 / 4.0) as u64;
        let xx = LEFT + pw * k as f64 / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#999"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + ph,
            TOP + ph + 5.0,
            TOP + ph + 20.0,
            utc(tick)
        );
    }
    let _ = write!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/><text x="{:.1}" y="{:.1}" text-anchor="middle">event time (UTC)</text>"##,
        LEFT + pw / 2.0,
        H - 8.0
    );
    for (n, (name, values)) in series.iter().enumerate() {
        let colour = COLOURS[n % COLOURS.len()];
        let mut path = String::new();
        let mut pen_down = false;
        for (b, v) in values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(path, "{}{:.1},{:.1} ", if pen_down { "L" } else { "M" }, x(b), y(*v));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let dash = if name == "trending" { r#" stroke-dasharray="5,4""# } else { "" };
        let _ = write!(s, r#"<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#);
        let ly = TOP + 16.0 + 20.0 * n as f64;
        let lx = LEFT + pw + 12.0;
        let _ = write!(
            s,
            r#"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"{dash}/><text x="{:.1}" y="{ly:.1}">{}</text>"#,
            ly - 4.0,
            lx + 22.0,
            ly - 4.0,
            lx + 28.0,
            escape(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `YYYY-MM-DD HH:MM` of a time in ms since the epoch (UTC).
fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", rest / 3600, rest % 3600 / 60)
}
