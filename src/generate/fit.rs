//! `generate --fit FILE`: the shape statistics of a Taobao-format file, the numbers
//! the generator's defaults were fitted from, and the comparison of a generated file.
//! It reads the whole file into memory (analysis, not streaming).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::model::ACTIONS;

struct Row {
    user: u64,
    item: u64,
    category: u64,
    action: usize,
    ts: u64,
}

#[derive(Serialize, Debug)]
pub struct Quantiles {
    pub min: u64,
    pub p10: u64,
    pub p25: u64,
    pub p50: u64,
    pub p75: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Serialize, Debug)]
pub struct FitReport {
    pub events: u64,
    /// Lines that did not parse or fell outside the window.
    pub skipped: u64,
    pub users: u64,
    pub items: u64,
    pub categories: u64,
    /// Shares of pv, fav, cart, buy.
    pub action_mix: [f64; 4],
    pub events_per_user: Quantiles,
    pub events_per_user_mean: f64,
    /// Mean and standard deviation of ln(events per user).
    pub activity_ln: (f64, f64),
    /// Shares of all events on the top 1% and 10% of the items seen; items seen once.
    pub item_top1: f64,
    pub item_top10: f64,
    pub item_singletons: f64,
    pub category_top1: f64,
    pub category_top10: f64,
    pub items_per_category: Quantiles,
    pub sessions: u64,
    pub session_length: Quantiles,
    pub session_mean: f64,
    pub session_single: f64,
    /// The session length's lognormal, fitted to P(L=1) and the mean.
    pub session_ln: (f64, f64),
    pub gap_within: Quantiles,
    /// Mean and standard deviation of ln(gap within a session, at least 1 s).
    pub gap_ln: (f64, f64),
    pub gap_between_p50: u64,
    /// P(the item was seen earlier in the session), per action.
    pub repeat: [f64; 4],
    /// P(a fresh in-session item shares the previous event's category).
    pub same_category: f64,
    /// Activity per Beijing hour of day (mean 1) and events per day from the start.
    pub hours: Vec<f64>,
    pub days: Vec<u64>,
    /// Session starts per Beijing hour of day (mean 1): the generator's daily cycle.
    pub session_hours: Vec<f64>,
}

/// Sessions split at gaps above this (30 minutes), as in the generator.
pub const SESSION_GAP: u64 = 1800;

pub fn report(path: &Path, start: u64, days: u64, json: bool) -> Result<()> {
    let r = fit(path, start, days)?;
    let text = if json { serde_json::to_string_pretty(&r)? + "\n" } else { text(&r)? };
    // An error, not a panic, when stdout is closed early (`| head`).
    std::io::stdout().lock().write_all(text.as_bytes()).context("cannot write to stdout")
}

pub fn fit(path: &Path, start: u64, days: u64) -> Result<FitReport> {
    let (mut rows, skipped) = read(path, start, start + days * 86_400)?;
    if rows.is_empty() {
        anyhow::bail!("{}: no Taobao-format events inside the window", path.display());
    }
    rows.sort_by_key(|r| (r.user, r.ts));
    let mut report = counts(&rows, skipped, start, days);
    sessions(&rows, &mut report);
    Ok(report)
}

fn read(path: &Path, from: u64, to: u64) -> Result<(Vec<Row>, u64)> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let (mut rows, mut skipped) = (Vec::new(), 0);
    for line in BufReader::new(file).lines() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        match parse(&line) {
            Some(r) if (from..to).contains(&r.ts) => rows.push(r),
            _ => skipped += 1,
        }
    }
    Ok((rows, skipped))
}

fn parse(line: &str) -> Option<Row> {
    let mut f = line.trim_end().split(',');
    let mut num = || f.next()?.parse::<u64>().ok();
    let (user, item, category) = (num()?, num()?, num()?);
    let name = f.next()?;
    let action = ACTIONS.iter().position(|a| *a == name)?;
    let ts = f.next()?.parse().ok()?;
    Some(Row { user, item, category, action, ts })
}

fn quantiles(mut xs: Vec<u64>) -> Quantiles {
    xs.sort_unstable();
    let q = |p: f64| {
        xs.get(((xs.len() as f64 * p) as usize).min(xs.len().saturating_sub(1))).copied().unwrap_or(0)
    };
    Quantiles {
        min: q(0.0),
        p10: q(0.1),
        p25: q(0.25),
        p50: q(0.5),
        p75: q(0.75),
        p90: q(0.9),
        p99: q(0.99),
        max: q(1.0),
    }
}

fn ln_moments(xs: impl Iterator<Item = u64>) -> (f64, f64) {
    let logs: Vec<f64> = xs.map(|x| (x.max(1) as f64).ln()).collect();
    let n = logs.len().max(1) as f64;
    let mean = logs.iter().sum::<f64>() / n;
    (mean, (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n).sqrt())
}

/// Shares of the total held by the top 1% and 10% of the keys.
fn top_shares(counts: &HashMap<u64, u64>, total: u64) -> (f64, f64) {
    let mut v: Vec<u64> = counts.values().copied().collect();
    v.sort_unstable_by(|a, b| b.cmp(a));
    let share = |frac: f64| {
        let k = ((v.len() as f64 * frac) as usize).max(1);
        v[..k.min(v.len())].iter().sum::<u64>() as f64 / total as f64
    };
    (share(0.01), share(0.10))
}

fn tally(keys: impl Iterator<Item = u64>) -> HashMap<u64, u64> {
    let mut m = HashMap::new();
    for k in keys {
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

fn counts(rows: &[Row], skipped: u64, start: u64, days: u64) -> FitReport {
    let n = rows.len() as u64;
    let mut mix = [0.0; 4];
    for r in rows {
        mix[r.action] += 1.0 / n as f64;
    }
    let per_user = tally(rows.iter().map(|r| r.user));
    let per_item = tally(rows.iter().map(|r| r.item));
    let per_cat = tally(rows.iter().map(|r| r.category));
    let item_cat: HashMap<u64, u64> = rows.iter().map(|r| (r.item, r.category)).collect();
    let items_per_cat = tally(item_cat.values().copied());
    let (item_top1, item_top10) = top_shares(&per_item, n);
    let (category_top1, category_top10) = top_shares(&per_cat, n);
    let mut hours = vec![0.0; 24];
    let mut day_counts = vec![0; days as usize];
    for r in rows {
        hours[beijing_hour(r.ts)] += 24.0 / n as f64;
        day_counts[((r.ts - start) / 86_400) as usize] += 1;
    }
    FitReport {
        events: n,
        skipped,
        users: per_user.len() as u64,
        items: per_item.len() as u64,
        categories: per_cat.len() as u64,
        action_mix: mix,
        events_per_user: quantiles(per_user.values().copied().collect()),
        events_per_user_mean: n as f64 / per_user.len() as f64,
        activity_ln: ln_moments(per_user.values().copied()),
        item_top1,
        item_top10,
        item_singletons: per_item.values().filter(|&&c| c == 1).count() as f64 / per_item.len() as f64,
        category_top1,
        category_top10,
        items_per_category: quantiles(items_per_cat.values().copied().collect()),
        sessions: 0,
        session_length: quantiles(vec![]),
        session_mean: 0.0,
        session_single: 0.0,
        session_ln: (0.0, 0.0),
        gap_within: quantiles(vec![]),
        gap_ln: (0.0, 0.0),
        gap_between_p50: 0,
        repeat: [0.0; 4],
        same_category: 0.0,
        hours,
        days: day_counts,
        session_hours: vec![0.0; 24],
    }
}

fn beijing_hour(ts: u64) -> usize {
    (((ts + 8 * 3600) / 3600) % 24) as usize
}

/// Session statistics over rows sorted by (user, ts).
fn sessions(rows: &[Row], r: &mut FitReport) {
    let (mut lengths, mut within, mut between) = (Vec::new(), Vec::new(), Vec::new());
    let (mut repeats, mut by_action) = ([0u64; 4], [0u64; 4]);
    let (mut same, mut fresh) = (0u64, 0u64);
    let mut seen: HashSet<u64> = HashSet::new();
    let mut len = 0u64;
    for (i, row) in rows.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| &rows[p]).filter(|p| p.user == row.user);
        match prev {
            Some(p) if row.ts - p.ts <= SESSION_GAP => {
                within.push(row.ts - p.ts);
                if !seen.contains(&row.item) {
                    fresh += 1;
                    same += u64::from(p.category == row.category);
                }
            }
            other => {
                if let Some(p) = other {
                    between.push(row.ts - p.ts);
                }
                if len > 0 {
                    lengths.push(len);
                }
                r.session_hours[beijing_hour(row.ts)] += 1.0;
                len = 0;
                seen.clear();
            }
        }
        by_action[row.action] += 1;
        repeats[row.action] += u64::from(seen.contains(&row.item));
        seen.insert(row.item);
        len += 1;
    }
    lengths.push(len);
    r.sessions = lengths.len() as u64;
    r.session_hours.iter_mut().for_each(|h| *h *= 24.0 / lengths.len() as f64);
    r.session_mean = rows.len() as f64 / lengths.len() as f64;
    r.session_single = lengths.iter().filter(|&&l| l == 1).count() as f64 / lengths.len() as f64;
    r.session_ln = session_lognormal(r.session_single, r.session_mean);
    r.session_length = quantiles(lengths);
    r.gap_ln = ln_moments(within.iter().copied());
    r.gap_within = quantiles(within);
    r.gap_between_p50 = quantiles(between).p50;
    r.repeat = std::array::from_fn(|a| repeats[a] as f64 / by_action[a].max(1) as f64);
    r.same_category = same as f64 / fresh.max(1) as f64;
}

/// (mu, sigma) with P(ceil(exp(N(mu, sigma))) = 1) = `single` and mean ≈ `mean`
/// (E[ceil X] ≈ E[X] + 1/2).
fn session_lognormal(single: f64, mean: f64) -> (f64, f64) {
    let z = inverse_normal_cdf(single.clamp(1e-6, 1.0 - 1e-6));
    let m = (mean - 0.5).max(1.0).ln();
    let sigma = z + (z * z + 2.0 * m).sqrt();
    (-z * sigma, sigma)
}

/// Φ⁻¹ by bisection on Φ(x) = erfc(-x/√2)/2 (Abramowitz-Stegun 7.1.26, error < 1.5e-7).
fn inverse_normal_cdf(p: f64) -> f64 {
    let phi = |x: f64| {
        let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
        let poly = t
            * (0.254_829_592
                + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
        let tail = 0.5 * poly * (-(x * x) / 2.0).exp();
        if x >= 0.0 {
            1.0 - tail
        } else {
            tail
        }
    };
    let (mut lo, mut hi) = (-10.0, 10.0);
    for _ in 0..80 {
        let mid = (lo + hi) / 2.0;
        if phi(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

fn text(r: &FitReport) -> Result<String, std::fmt::Error> {
    let mut o = String::new();
    let q = |x: &Quantiles| {
        format!(
            "min {} p10 {} p25 {} p50 {} p75 {} p90 {} p99 {} max {}",
            x.min, x.p10, x.p25, x.p50, x.p75, x.p90, x.p99, x.max
        )
    };
    let mix: Vec<String> = ACTIONS.iter().zip(r.action_mix).map(|(a, s)| format!("{a} {s:.4}")).collect();
    let rep: Vec<String> = ACTIONS.iter().zip(r.repeat).map(|(a, s)| format!("{a} {s:.3}")).collect();
    writeln!(
        o,
        "events {} (skipped {}), users {}, items {}, categories {}",
        r.events, r.skipped, r.users, r.items, r.categories
    )?;
    writeln!(o, "action mix: {}", mix.join(", "))?;
    writeln!(
        o,
        "events/user: {} mean {:.1}; ln mean {:.3} sd {:.3}",
        q(&r.events_per_user),
        r.events_per_user_mean,
        r.activity_ln.0,
        r.activity_ln.1
    )?;
    writeln!(
        o,
        "items: top 1% {:.3}, top 10% {:.3}, seen once {:.3}",
        r.item_top1, r.item_top10, r.item_singletons
    )?;
    writeln!(
        o,
        "categories: top 1% {:.3}, top 10% {:.3}; items/category {}",
        r.category_top1,
        r.category_top10,
        q(&r.items_per_category)
    )?;
    writeln!(o, "sessions (gap > {SESSION_GAP} s): {}, length {} mean {:.2} single {:.3}; lognormal mu {:.3} sigma {:.3}", r.sessions, q(&r.session_length), r.session_mean, r.session_single, r.session_ln.0, r.session_ln.1)?;
    writeln!(
        o,
        "gap within: {}; ln mean {:.3} sd {:.3}; between p50 {}",
        q(&r.gap_within),
        r.gap_ln.0,
        r.gap_ln.1,
        r.gap_between_p50
    )?;
    writeln!(o, "repeat in session: {}; fresh item same category {:.3}", rep.join(", "), r.same_category)?;
    let hours: Vec<String> = r.hours.iter().map(|h| format!("{h:.2}")).collect();
    writeln!(o, "hours (Beijing, mean 1): {}", hours.join(" "))?;
    let starts: Vec<String> = r.session_hours.iter().map(|h| format!("{h:.2}")).collect();
    writeln!(o, "session starts per hour: {}", starts.join(" "))?;
    writeln!(o, "days: {:?}", r.days)?;
    Ok(o)
}
