//! `interestflow bench ...` on tiny inputs: each command runs and prints its table.
//! No timing is asserted (machines are noisy); only that the figures are there.

use std::path::PathBuf;

use serde_json::Value;

use crate::cli::{bin, one_line_error};

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("interestflow-bench-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn sample() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(interestflow::run::SAMPLE).display().to_string()
}

/// Runs the command; returns stdout and the JSON it wrote to `json`.
fn bench(args: &[&str], json: &PathBuf) -> (String, Value) {
    let out = bin().args(args).arg("--json").arg(json).output().expect("the binary starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} succeeds: {stderr}");
    let text = std::fs::read_to_string(json).expect("the JSON was written");
    (String::from_utf8_lossy(&out.stdout).into_owned(), serde_json::from_str(&text).expect("JSON"))
}

#[test]
fn latency_prints_a_row_per_batch_size_and_the_fanout() {
    let json = dir().join("latency.json");
    let args = ["bench", "latency", &sample(), "--warm", "2000", "--batch-sizes", "1,10", "--rounds", "5"];
    let (out, v) = bench(&args, &json);
    assert!(out.contains("| batch | rounds | p50 ms | p95 ms | p99 ms | max ms |"), "{out}");
    assert!(out.contains("| 1 | 5 |") && out.contains("| 10 | 5 |"), "{out}");
    assert!(out.contains("keys recs R(u)"), "{out}");
    assert_eq!(v["sizes"].as_array().map(Vec::len), Some(2));
}

#[test]
fn recompute_compares_the_oracle_with_one_event() {
    let json = dir().join("recompute.json");
    let args = ["bench", "recompute", &sample(), "--live", "1000,2000", "--probe", "5"];
    let (out, v) = bench(&args, &json);
    assert!(out.contains("oracle / 1 event"), "{out}");
    assert!(v["rows"][1]["oracle_ratio"].as_f64().is_some_and(|r| r > 0.0), "{v}");
}

#[test]
fn replay_and_growth_run_guarded_children() {
    let d = dir();
    let text = std::fs::read_to_string(sample()).expect("the sample");
    let lines: Vec<&str> = text.lines().take(3000).collect();
    let small = d.join("small.csv");
    std::fs::write(&small, lines.join("\n") + "\n").expect("written");
    let small = small.display().to_string();
    let (out, v) = bench(&["bench", "replay", &small, "--workers", "1"], &d.join("replay.json"));
    assert!(out.contains("| small.csv | 1 | 3000 |"), "{out}");
    assert!(v["rows"][0]["bytes_per_event"].as_f64().is_some_and(|b| b > 0.0), "{v}");

    let plot = d.join("growth.svg");
    let data = d.join("data").display().to_string();
    let args = ["bench", "growth", "--sizes", "2k", "--workers", "1", "--sort", "no", "--data-dir", &data];
    let out = bin().args(args).arg("--plot").arg(&plot).output().expect("the binary starts");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("| 2k |") && text.contains("| ok |"), "{text}");
    assert!(std::fs::read_to_string(&plot).is_ok_and(|s| s.starts_with("<svg")));
}

#[test]
fn bad_bench_flags_give_one_line() {
    assert!(one_line_error(&["bench", "latency", "--batch-sizes", "0"]).contains("--batch-sizes"));
    // Too few events is found once the file is read (after its log line): the last line says so.
    let out = bin().args(["bench", "latency", &sample(), "--warm", "200000"]).output().expect("starts");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.trim_end().lines().last().is_some_and(|l| l.contains("fewer than")),
        "{err}"
    );
    assert!(one_line_error(&["bench", "growth", "--sizes", "1M,x"]).contains("--sizes"));
}
