//! The growth plot: throughput and peak RSS against the stream size (log scale), SVG
//! only (plotters without system font libraries).

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::common::short_count;
use super::growth::GrowthReport;

/// One panel: `points` are (log10 events, value); `target`, a dashed-free reference line.
struct Panel<'a> {
    title: &'a str,
    y_desc: &'a str,
    points: Vec<(f64, f64)>,
    target: Option<(f64, &'a str)>,
}

pub fn growth(path: &Path, report: &GrowthReport) -> Result<()> {
    let ok: Vec<_> = report.rows.iter().filter(|r| r.replay.status == "ok").collect();
    let log = |n: u64| (n.max(1) as f64).log10();
    let label = if report.source.is_some() { ", prefixes of a file" } else { ", generated streams" };
    let throughput = Panel {
        title: &format!("Replay throughput, {} worker(s){}", report.workers, label),
        y_desc: "events/s",
        points: ok.iter().map(|r| (log(r.replay.events), r.replay.events_per_second)).collect(),
        target: Some((100_000.0, "target 100k events/s")),
    };
    let memory = Panel {
        title: "Peak RSS per live event",
        y_desc: "bytes/event",
        points: ok.iter().map(|r| (log(r.replay.events), r.replay.bytes_per_event)).collect(),
        target: Some((1024.0, "target 1 KB/event")),
    };
    let root = SVGBackend::new(path, (1100, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
    let (left, right) = root.split_horizontally(550);
    draw(&left, &throughput)?;
    draw(&right, &memory)?;
    root.present().map_err(|e| anyhow!("{}: cannot write the plot: {e}", path.display()))?;
    Ok(())
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, p: &Panel<'_>) -> Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("plot: {e}");
    // x from 1k to 20M events whatever was run, so the targets' sizes are on the axis.
    let (x0, x1) = (3.0f64, 7.3f64);
    let top = p.points.iter().map(|q| q.1).chain(p.target.map(|t| t.0)).fold(1.0f64, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(p.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("events (log scale)")
        .y_desc(p.y_desc)
        .x_labels(8)
        .x_label_formatter(&|x| short_count(10f64.powf(*x).round() as u64))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(p.points.clone(), BLUE.stroke_width(2)))
        .map_err(err)?
        .label("measured")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart.draw_series(p.points.iter().map(|q| Circle::new(*q, 4, BLUE.filled()))).map_err(err)?;
    if let Some((value, label)) = p.target {
        chart
            .draw_series(LineSeries::new(vec![(x0, value), (x1, value)], RED))
            .map_err(err)?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}
