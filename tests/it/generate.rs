//! `interestflow generate`: determinism, time order, every event accepted by `check`,
//! and the shape of a 200k stream against the fitted Taobao numbers.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cli::{bin, one_line_error};

const EVENTS: u64 = 200_000;

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("interestflow-generate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn generate(out: &Path, extra: &[&str]) -> Vec<u8> {
    let events = EVENTS.to_string();
    let mut args = vec!["generate", "--events", &events, "--out", out.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    let status = bin().args(&args).status().expect("the binary starts");
    assert!(status.success(), "{args:?} succeeds");
    std::fs::read(out).expect("the output exists")
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let d = dir();
    let a = generate(&d.join("a.csv"), &["--seed", "7"]);
    let b = generate(&d.join("b.csv"), &["--seed", "7"]);
    let c = generate(&d.join("c.csv"), &["--seed", "8"]);
    assert!(a == b, "the same seed gives the same bytes");
    assert!(a != c, "another seed gives other bytes");
    for f in ["a.csv", "b.csv", "c.csv"] {
        let _ = std::fs::remove_file(d.join(f));
    }
    let stdout = bin().args(["generate", "--events", "1000", "--seed", "7"]).output().expect("runs");
    assert!(stdout.status.success(), "stdout is the default output");
    assert_eq!(stdout.stdout.iter().filter(|&&b| b == b'\n').count(), 1000);
}

#[test]
fn rows_are_taobao_in_time_order_and_all_accepted() {
    let d = dir();
    let path = d.join("order.csv");
    let bytes = generate(&path, &["--seed", "3"]);
    let text = String::from_utf8(bytes).expect("utf-8");
    let mut last = 0u64;
    let (start, end) = (1_511_539_200u64, 1_511_539_200u64 + 9 * 86_400);
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 5, "five fields: {line}");
        assert!(f[..3].iter().all(|x| x.parse::<u64>().is_ok()), "numeric ids: {line}");
        assert!(["pv", "fav", "cart", "buy"].contains(&f[3]), "a Taobao behaviour: {line}");
        let ts: u64 = f[4].parse().expect("a time");
        assert!(ts >= last, "time order: {line} after {last}");
        assert!((start..end).contains(&ts), "inside the 9 days: {line}");
        last = ts;
    }
    assert_eq!(text.lines().count() as u64, EVENTS);
    let out = bin().args(["check", path.to_str().expect("utf-8")]).output().expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!("accepted {EVENTS} + rejected 0 + duplicates 0");
    assert!(out.status.success() && err.contains(&want), "check accepts all: {err}");
    let _ = std::fs::remove_file(path);
}

fn fit(path: &Path) -> Value {
    let out =
        bin().args(["generate", "--fit", path.to_str().expect("utf-8"), "--json"]).output().expect("runs");
    assert!(out.status.success(), "--fit succeeds");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn num(v: &Value, path: &[&str]) -> f64 {
    path.iter().fold(v, |v, k| &v[*k]).as_f64().unwrap_or_else(|| panic!("{path:?} is a number"))
}

/// Tolerances: the action shares within 0.005 (over 10 binomial standard deviations
/// at 200k events); quantile ratios of events per user within 25% of the real ones
/// (about 1,900 users: sampling noise is a few %); session and popularity figures
/// within the bands below.
#[test]
fn shape_matches_the_fitted_numbers() {
    let d = dir();
    let path = d.join("shape.csv");
    generate(&path, &["--seed", "11"]);
    let g = fit(&path);
    let _ = std::fs::remove_file(&path);
    let real_mix = [0.8981, 0.0279, 0.0533, 0.0207];
    let mix = g["action_mix"].as_array().expect("a list");
    for (share, real) in mix.iter().zip(real_mix) {
        let share = share.as_f64().expect("a share");
        assert!((share - real).abs() < 0.005, "action share {share} vs {real}");
    }
    let epu = |k: &str| num(&g, &["events_per_user", k]);
    let p50 = epu("p50");
    // Real (user prefix): p10 19, p50 78, p90 226, p99 431 -> ratios 0.24, 2.9, 5.5.
    for (k, real) in [("p10", 19.0 / 78.0), ("p90", 226.0 / 78.0), ("p99", 431.0 / 78.0)] {
        let ratio = epu(k) / p50;
        assert!((ratio / real - 1.0).abs() < 0.25, "events/user {k}/p50 {ratio:.2} vs {real:.2}");
    }
    assert!((num(&g, &["events_per_user_mean"]) - 103.5).abs() < 2.0, "mean events per user");
    let session = num(&g, &["session_mean"]);
    assert!((4.8..7.2).contains(&session), "events per session {session} vs 5.99");
    let single = num(&g, &["session_single"]);
    assert!((0.25..0.37).contains(&single), "single-event sessions {single} vs 0.31");
    let buy_repeat = g["repeat"][3].as_f64().expect("a share");
    assert!((0.30..0.50).contains(&buy_repeat), "buy of an item seen in the session {buy_repeat} vs 0.41");
    let top10 = num(&g, &["item_top10"]);
    assert!((0.20..0.40).contains(&top10), "top 10% items' share {top10} vs 0.30");
    let cat10 = num(&g, &["category_top10"]);
    assert!((0.65..0.88).contains(&cat10), "top 10% categories' share {cat10} vs 0.78");
}

#[test]
fn bad_flags_are_one_line() {
    one_line_error(&["generate", "--events", "0"]);
    assert!(one_line_error(&["generate"]).contains("--events N"));
    one_line_error(&["generate", "--events", "5", "--json"]);
    one_line_error(&["generate", "--events", "5", "--users", "10"]);
    one_line_error(&["generate", "--events", "50", "--items", "3", "--categories", "9"]);
    one_line_error(&["generate", "--events", "5", "--out", "/nonexistent-dir/x.csv"]);
    one_line_error(&["generate", "--fit", "/nonexistent-file.csv"]);
    one_line_error(&["generate", "--events", "5", "--start", "18446744073709551615"]);
}
