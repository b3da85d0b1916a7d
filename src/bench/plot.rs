//! The growth plot: throughput and peak RSS per event against the stream size, both
//! axes log scale, SVG only (plotters without system font libraries). Several series:
//! this run's, and any earlier growth JSON given with `--plot-with`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;

use super::common::short_count;

/// One growth run: its label and (events, events/s, bytes/event) of the sizes that finished.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64, f64)>,
}

/// The series of a growth JSON (`bench growth --json`).
pub fn series_of(path: &PathBuf) -> Result<Series> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let rows = v.get("rows").and_then(|r| r.as_array()).cloned().unwrap_or_default();
    let points = rows
        .iter()
        .filter(|r| r.get("status").and_then(|s| s.as_str()) == Some("ok"))
        .filter_map(|r| {
            let f = |k: &str| r.get(k).and_then(|x| x.as_f64());
            Some((f("events")?, f("events_per_second")?, f("bytes_per_event")?))
        })
        .collect();
    Ok(Series { label: label_of(&v), points })
}

/// "prefixes of the sample" or "generated streams", with the worker count.
pub fn label_of(v: &serde_json::Value) -> String {
    let workers = v.get("workers").and_then(|w| w.as_u64()).unwrap_or(0);
    let what = match v.get("source").and_then(|s| s.as_str()) {
        Some(s) => {
            format!("prefixes of {}", Path::new(s).file_name().map_or(s.into(), |n| n.to_string_lossy()))
        }
        None => "generated Taobao-shaped".to_string(),
    };
    format!("{what}, {workers}w")
}

struct Panel<'a> {
    title: &'a str,
    y_desc: &'a str,
    /// Per series: label and (log10 events, log10 value).
    lines: Vec<(String, Vec<(f64, f64)>)>,
    target: (f64, &'a str),
}

pub fn growth(path: &Path, series: &[Series]) -> Result<()> {
    let log = |x: f64| x.max(1.0).log10();
    let panel = |title, y_desc, pick: fn(&(f64, f64, f64)) -> f64, target| Panel {
        title,
        y_desc,
        lines: series
            .iter()
            .map(|s| (s.label.clone(), s.points.iter().map(|p| (log(p.0), log(pick(p)))).collect()))
            .collect(),
        target,
    };
    let throughput = panel("Replay throughput", "events/s", |p| p.1, (100_000.0, "target 100k events/s"));
    let memory = panel("Peak RSS per event", "bytes/event", |p| p.2, (1024.0, "target 1 KB/event"));
    let root = SVGBackend::new(path, (1100, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
    let (left, right) = root.split_horizontally(550);
    draw(&left, &throughput)?;
    draw(&right, &memory)?;
    root.present().map_err(|e| anyhow!("{}: cannot write the plot: {e}", path.display()))?;
    Ok(())
}

/// The range of log10 values `values`, with a margin, widened to whole powers of ten.
fn span(values: impl Iterator<Item = f64>, floor: f64, ceil: f64) -> (f64, f64) {
    let (lo, hi) = values.fold((floor, ceil), |(lo, hi), v| (lo.min(v), hi.max(v)));
    ((lo - 0.2).floor(), (hi + 0.2).ceil())
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, p: &Panel<'_>) -> Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("plot: {e}");
    let all = || p.lines.iter().flat_map(|l| l.1.iter().copied());
    // x up to 16M events whatever was run, so the targets' sizes are on the axis.
    let (x0, x1) = span(all().map(|q| q.0), 3.0, 7.2);
    let target = p.target.0.log10();
    let (y0, y1) = span(all().map(|q| q.1), target, target);
    let mut chart = ChartBuilder::on(area)
        .caption(p.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let power = |v: &f64| short_count(10f64.powf(*v).round() as u64);
    chart
        .configure_mesh()
        .x_desc("events (log scale)")
        .y_desc(format!("{} (log scale)", p.y_desc))
        .x_labels((x1 - x0) as usize + 1)
        .y_labels((y1 - y0) as usize + 1)
        .x_label_formatter(&power)
        .y_label_formatter(&power)
        .draw()
        .map_err(err)?;
    let colours = [BLUE, GREEN, MAGENTA, CYAN];
    for (n, (label, points)) in p.lines.iter().enumerate() {
        let colour = colours[n % colours.len()];
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(err)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        chart.draw_series(points.iter().map(|q| Circle::new(*q, 4, colour.filled()))).map_err(err)?;
    }
    chart
        .draw_series(LineSeries::new(vec![(x0, target), (x1, target)], RED))
        .map_err(err)?
        .label(p.target.1)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}
