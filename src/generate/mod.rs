//! `interestflow generate`: a seeded synthetic event stream in the Taobao format,
//! shaped like the real data (docs/generator.md), written in event-time order.
//! Memory holds the user table and the category offsets, not the events.

mod fit;
mod model;
mod rng;
mod user;

use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;

pub use fit::{fit, FitReport};
use model::{Catalogue, Shape, TimeProfile, ACTIONS};
use rng::{Permutation, Rng};
use user::{User, World};

/// 2017-11-25 00:00 Beijing time, the start of the Taobao release's window.
pub const TAOBAO_START: u64 = 1_511_539_200;

#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Events to write (exactly this many, all distinct).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000_000))]
    pub events: Option<u64>,
    /// Seed of the generator: same arguments and seed, same bytes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output file; `-` or none is stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Users (default: events / 103.5, the real events per user).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub users: Option<u64>,
    /// Catalogue items (default: a power law in events through the real files).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub items: Option<u64>,
    /// Categories (default: a power law in events through the real files).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub categories: Option<u64>,
    /// Days the stream spans.
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub days: u64,
    /// Start of the span, Unix seconds (default 2017-11-25 00:00 Beijing time); the
    /// daily cycle assumes it is a midnight in UTC+8. At most 2100-01-01.
    #[arg(long, default_value_t = TAOBAO_START, value_parser = clap::value_parser!(u64).range(0..=4_102_444_800))]
    pub start: u64,
    /// Instead of generating: the shape statistics of a Taobao-format file (events
    /// inside --start/--days), as fitted for the defaults.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["events", "out", "users", "items", "categories"])]
    pub fit: Option<PathBuf>,
    /// With --fit: print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The real anchors of the scaling rules: the user-prefix file (84,252 events in the
/// window from 814 users) and the full release (100,150,807 events, 4,162,024 items,
/// 9,439 categories). The prefix catalogue sizes are tuned so a stream of that size
/// shows as many distinct items and categories as the file (docs/generator.md).
const ANCHOR_EVENTS: f64 = 84_252.0;
const ANCHOR_ITEMS: f64 = 300_000.0;
const ANCHOR_CATEGORIES: f64 = 3_000.0;
const FULL_EVENTS: f64 = 100_150_807.0;
const FULL_ITEMS: f64 = 4_162_024.0;
const FULL_CATEGORIES: f64 = 9_439.0;

fn power_law(events: u64, anchor: f64, full: f64) -> u64 {
    let beta = (full / anchor).ln() / (FULL_EVENTS / ANCHOR_EVENTS).ln();
    (anchor * (events as f64 / ANCHOR_EVENTS).powf(beta)).round().max(1.0) as u64
}

pub fn generate(args: &GenerateArgs) -> Result<()> {
    if let Some(path) = &args.fit {
        return fit::report(path, args.start, args.days, args.json);
    }
    if args.json {
        bail!("--json goes with --fit FILE");
    }
    let Some(events) = args.events else { bail!("generate needs --events N (or --fit FILE)") };
    let shape = Shape::default();
    let users = args.users.unwrap_or(((events as f64 / shape.events_per_user).round() as u64).max(1));
    if users > events {
        bail!("--users {users} exceeds --events {events}: every user has an event");
    }
    let items = args.items.unwrap_or_else(|| power_law(events, ANCHOR_ITEMS, FULL_ITEMS));
    let categories = args.categories.unwrap_or_else(|| power_law(events, ANCHOR_CATEGORIES, FULL_CATEGORIES));
    if categories > items {
        bail!("--categories {categories} exceeds --items {items}: every category has an item");
    }
    let out: Box<dyn Write> = match args.out.as_deref() {
        None => Box::new(std::io::stdout().lock()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdout().lock()),
        Some(p) => Box::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?),
    };
    let started = Instant::now();
    let plan = Plan { events, users, items, categories, days: args.days, start: args.start, seed: args.seed };
    let written = write_stream(&plan, &shape, BufWriter::with_capacity(1 << 16, out))?;
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        "generated {written} events, {users} users, {items} items, {categories} categories in {secs:.2} s ({:.0} events/s)",
        written as f64 / secs.max(1e-9)
    );
    Ok(())
}

struct Plan {
    events: u64,
    users: u64,
    items: u64,
    categories: u64,
    days: u64,
    start: u64,
    seed: u64,
}

/// Merges the users' event streams by (ts, user) and writes them as Taobao CSV.
fn write_stream(plan: &Plan, shape: &Shape, mut out: impl Write) -> Result<u64> {
    let mut rng = Rng::new(plan.seed);
    let catalogue = Catalogue::new(plan.categories, plan.items, shape.category_zipf, shape.item_zipf);
    let profile = TimeProfile::new(shape, plan.days);
    let end = plan.start + plan.days * 86_400;
    let world = World { shape, catalogue: &catalogue, profile: &profile, start: plan.start, end };
    let user_ids = Permutation::new(plan.users, &mut rng);
    let item_ids = Permutation::new(catalogue.items, &mut rng);
    let category_ids = Permutation::new(catalogue.categories(), &mut rng);
    let counts = allocate(plan.events, plan.users, &shape.activity, &mut rng);
    let mut users: Vec<User> = counts.iter().map(|&n| User::new(n, &world, &mut rng)).collect();
    let mut heap: BinaryHeap<Reverse<(u64, u32)>> =
        users.iter().enumerate().map(|(i, u)| Reverse((u.next_ts, i as u32))).collect();
    let mut line = Vec::with_capacity(64);
    let mut written = 0u64;
    while let Some(mut top) = heap.peek_mut() {
        let Reverse((ts, i)) = *top;
        let user = &mut users[i as usize];
        let (item, action, more) = user.emit(&world, &mut rng);
        // Replacing the top sifts once, where pop + push would sift twice.
        if more {
            *top = Reverse((user.next_ts, i));
        } else {
            PeekMut::pop(top);
        }
        line.clear();
        push_u64(&mut line, user_ids.apply(i as u64) + 1);
        line.push(b',');
        push_u64(&mut line, item_ids.apply(item) + 1);
        line.push(b',');
        push_u64(&mut line, category_ids.apply(catalogue.category_of(item)) + 1);
        line.push(b',');
        line.extend_from_slice(ACTIONS[action].as_bytes());
        line.push(b',');
        push_u64(&mut line, ts);
        line.push(b'\n');
        out.write_all(&line).context("cannot write the events")?;
        written += 1;
    }
    out.flush().context("cannot write the events")?;
    Ok(written)
}

/// Events per user: activity weights scaled to sum to exactly `events`, at least one
/// each.
fn allocate(events: u64, users: u64, knots: &[(f64, f64)], rng: &mut Rng) -> Vec<u64> {
    let weights: Vec<f64> = (0..users).map(|_| model::activity(rng, knots)).collect();
    let total: f64 = weights.iter().sum();
    let mut counts: Vec<u64> =
        weights.iter().map(|w| ((events as f64 * w / total).floor() as u64).max(1)).collect();
    let mut sum: u64 = counts.iter().sum();
    let (mut i, len) = (0, counts.len());
    while sum != events {
        let c = &mut counts[i % len];
        if sum < events {
            *c += 1;
            sum += 1;
        } else if *c > 1 {
            *c -= 1;
            sum -= 1;
        }
        i += 1;
    }
    counts
}

fn push_u64(buf: &mut Vec<u8>, mut x: u64) {
    let mut digits = [0u8; 20];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (x % 10) as u8;
        n += 1;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    buf.extend(digits[..n].iter().rev());
}
