//! `interestflow evaluate`: the metrics of a hand-counted case, exactly; a real slice
//! scored the same at 1 and 2 workers, with the trending-only and the engine's cold
//! targets equal (both are the trending list); one-line errors.

use std::path::{Path, PathBuf};

use dataflows::model::fnv1a64;
use serde_json::Value;

use crate::cli::{bin, one_line_error};
use crate::inputs::data;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/evaluate_hand.csv")
}

/// Runs `evaluate ARGS --json F` and returns the report.
fn evaluate(args: &[&str], name: &str) -> Value {
    let json = std::env::temp_dir().join(format!("interestflow-eval-{}-{name}.json", std::process::id()));
    let out = bin().arg("evaluate").args(args).arg("--json").arg(&json).output().expect("the binary starts");
    assert!(out.status.success(), "evaluate {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&json).expect("the JSON report is written");
    let _ = std::fs::remove_file(&json);
    serde_json::from_str(&text).expect("the report is JSON")
}

fn run<'a>(report: &'a Value, name: &str) -> &'a Value {
    let runs = report["runs"].as_array().expect("runs");
    runs.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("a run named {name}"))
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

/// The metrics as (targets, hits, hr, mrr, ndcg).
fn check(m: &Value, targets: u64, hits: u64, mrr: f64, ndcg: f64, what: &str) {
    assert_eq!(m["targets"], targets, "{what}: targets");
    assert_eq!(m["hits"], hits, "{what}: hits");
    let hr = if targets == 0 { 0.0 } else { hits as f64 / targets as f64 };
    assert!(close(&m["hr"], hr), "{what}: hr {} != {hr}", m["hr"]);
    assert!(close(&m["mrr"], mrr), "{what}: mrr {} != {mrr}", m["mrr"]);
    assert!(close(&m["ndcg"], ndcg), "{what}: ndcg {} != {ndcg}", m["ndcg"]);
}

/// By hand (default settings, ticks of 1 s; "state at t" is built from ticks < t):
/// - 3 s, u2 cart B, warm: H(u1) = {A, B}, so sim(A,B) = 16/sqrt(32*16) = 0.707 and
///   B is u2's best candidate (a = 707; A only has b and g): rank 1.
/// - 4 s, u3 purchase C, cold: trending [B 5, A 2]: miss.
/// - 5 s, u3 cart A, warm: C has no similar item and u3 no neighbour, so u3 is a
///   fallback user: trending [C 8, B 5, A 2] less the purchased C = [B, A]: rank 2.
/// - 6 s, u4 cart B, cold: trending [C 8, A 6, B 5]: rank 3.
/// - 7 s, u5 cart D and u6 purchase D, cold: trending [B 9, C 8, A 6]; D's own second
///   is invisible: two misses.
#[test]
fn hand_counted_case() {
    let file = fixture();
    let report = evaluate(&[file.to_str().expect("utf-8 path")], "hand");
    assert_eq!(report["targets"], "carts");
    assert_eq!(report["scored_targets"], 6);
    let lines = "3000,u2,B,1\n4000,u3,C,0\n5000,u3,A,1\n6000,u4,B,0\n7000,u5,D,0\n7000,u6,D,0\n";
    assert_eq!(report["target_hash_fnv1a64"], format!("{:016x}", fnv1a64(lines.as_bytes())));
    let engine = run(&report, "engine");
    let ndcg2 = 1.0 / 3f64.log2();
    check(&engine["warm"], 2, 2, (1.0 + 0.5) / 2.0, (1.0 + ndcg2) / 2.0, "engine warm");
    check(&engine["cold"], 4, 1, (1.0 / 3.0) / 4.0, 0.5 / 4.0, "engine cold");
    check(&engine["all"], 6, 3, (1.0 + 0.5 + 1.0 / 3.0) / 6.0, (1.0 + ndcg2 + 0.5) / 6.0, "engine all");
    assert_eq!(engine["served_personal"], 1);
    assert_eq!(engine["served_fallback"], 1);
    // Served: [B, A] three times, [C, A, B], [B, C, A] twice: {A, B, C} of {A, B, C, D}.
    assert!(close(&engine["coverage"], 0.75), "coverage {}", engine["coverage"]);
    // Trending only: u2 at 3 s is served [A 2, B 1] (its own cart is invisible):
    // rank 2; u3 at 5 s [B, A]: rank 2.
    let trending = run(&report, "trending");
    check(&trending["warm"], 2, 2, 0.5, ndcg2, "trending warm");

    // Only the targets at or after 5 s: u3's warm hit at rank 2, three cold.
    let second =
        evaluate(&[file.to_str().expect("utf-8 path"), "--score", "second", "--split-ms", "5000"], "half");
    check(&run(&second, "engine")["warm"], 1, 1, 0.5, ndcg2, "second half warm");
    check(&run(&second, "engine")["cold"], 3, 1, 1.0 / 9.0, 0.5 / 3.0, "second half cold");
}

/// The first 4,000 REES46 events: the same targets, hash and metrics at 1 and 2 workers;
/// the cold targets of the engine and of trending only are the same lists.
#[test]
fn real_slice_is_consistent() {
    let file = data("rees46_multicategory/2019-Oct_head_17k.csv");
    let path = file.to_str().expect("utf-8 path");
    let one = evaluate(&[path, "--max-events", "4000", "--baselines", "--refresh-ms", "3600000"], "w1");
    let two = evaluate(&[path, "--max-events", "4000", "--workers", "2"], "w2");
    assert_eq!(one["target_hash_fnv1a64"], two["target_hash_fnv1a64"]);
    assert_eq!(run(&one, "engine")["all"], run(&two, "engine")["all"], "1 and 2 workers agree");
    assert_eq!(run(&one, "engine")["cold"], run(&one, "trending")["cold"]);
    for r in one["runs"].as_array().expect("runs") {
        let (w, c, a) = (&r["warm"], &r["cold"], &r["all"]);
        let n = |m: &Value, k: &str| m[k].as_u64().expect("a count");
        assert_eq!(n(w, "targets") + n(c, "targets"), n(a, "targets"), "{}", r["name"]);
        assert_eq!(n(w, "hits") + n(c, "hits"), n(a, "hits"), "{}", r["name"]);
    }
    assert!(n_runs(&one) == 6, "engine, trending, refreshed, A, B, G");
}

fn n_runs(report: &Value) -> usize {
    report["runs"].as_array().map_or(0, Vec::len)
}

#[test]
fn bad_evaluate_flags_give_one_line() {
    let file = fixture();
    let path = file.to_str().expect("utf-8 path");
    assert!(one_line_error(&["evaluate", path, "--follow"]).contains("--follow"));
    assert!(one_line_error(&["evaluate", path, "--sort", "no"]).contains("--sort"));
    assert!(one_line_error(&["evaluate", path, "--refresh-ms", "1500"]).contains("--refresh-ms"));
    assert!(one_line_error(&["evaluate", "/no/such/file.csv"]).contains("/no/such/file.csv"));
}
