//! The binary end to end: the sample against the oracle, and one-line errors.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use dataflows::model::{key_of, Key, Settings, Weight};
use dataflows::oracle;
use dataflows::snapshot::RecList;
use interestflow::input::{Format, Ingest};
use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_interestflow"))
}

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(interestflow::run::SAMPLE)
}

/// What a consumer of the change stream holds at the end: R(u) per user.
fn replay_stream(text: &str, settings: &Settings) -> BTreeMap<Key, RecList> {
    let mut personal: BTreeMap<Key, Vec<(Key, Weight)>> = BTreeMap::new();
    let mut fallback: BTreeMap<Key, Vec<Key>> = BTreeMap::new();
    let mut trending: Vec<(Key, Weight)> = Vec::new();
    let id = |v: &Value| key_of(v.as_str().expect("ids are strings"));
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("each line is JSON");
        if let Some(list) = v.get("trending") {
            let items = list.as_array().expect("a list");
            trending = items
                .iter()
                .map(|e| (id(&e["item"]), e["score"].as_i64().expect("a count")))
                .collect();
            continue;
        }
        let user = id(&v["user"]);
        personal.remove(&user);
        fallback.remove(&user);
        if let Some(skip) = v.get("skip") {
            fallback.insert(
                user,
                skip.as_array().expect("a list").iter().map(id).collect(),
            );
        } else {
            let recs = v["recs"].as_array().expect("a list");
            let scale = settings.sim_scale as f64;
            let items: Vec<_> = recs
                .iter()
                .map(|e| {
                    (
                        id(&e["item"]),
                        (e["score"].as_f64().expect("a score") * scale).round() as Weight,
                    )
                })
                .collect();
            if !items.is_empty() {
                personal.insert(user, items);
            }
        }
    }
    let mut recs: BTreeMap<Key, RecList> = personal
        .into_iter()
        .map(|(u, items)| {
            (
                u,
                RecList {
                    items,
                    fallback: false,
                },
            )
        })
        .collect();
    for (user, skip) in fallback {
        let items: Vec<_> = trending
            .iter()
            .filter(|(i, _)| !skip.contains(i))
            .take(settings.top_k)
            .copied()
            .collect();
        if !items.is_empty() {
            recs.insert(
                user,
                RecList {
                    items,
                    fallback: true,
                },
            );
        }
    }
    recs
}

#[test]
fn sample_run_ends_in_the_oracle_state() {
    let settings = Settings::default();
    let out =
        std::env::temp_dir().join(format!("interestflow-sample-{}.jsonl", std::process::id()));
    let status = bin()
        .args(["run", "--workers", "2", "--out"])
        .arg(&out)
        .arg(sample())
        .status()
        .expect("the binary starts");
    assert!(status.success());
    let text = std::fs::read_to_string(&out).expect("the stream was written");
    let _ = std::fs::remove_file(&out);
    let got = replay_stream(&text, &settings);

    let mut ingest =
        Ingest::open(&settings, Format::Taobao, &[sample()], None).expect("the sample opens");
    let mut arrivals = Vec::new();
    while let Some(batch) = ingest.next_batch(100_000).expect("the sample reads") {
        arrivals.extend(batch);
    }
    let last = arrivals.iter().map(|a| a.event.tick).max().expect("events");
    let want = oracle::snapshot_at(&settings, &arrivals, last);
    assert!(
        want.recs.len() > 60_000,
        "the sample gives most users a list"
    );
    assert_eq!(got.len(), want.recs.len());
    assert!(
        got == want.recs,
        "the stream's final R(u) equals the oracle's"
    );
}

fn one_line_error(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("the binary starts");
    assert!(!out.status.success(), "{args:?} fails");
    assert!(out.stdout.is_empty(), "{args:?} writes no output");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?} gives one line: {err}"
    );
    err
}

#[test]
fn bad_invocations_give_one_clear_line() {
    assert!(one_line_error(&["run", "--bogus"]).contains("--bogus"));
    assert!(one_line_error(&["run", "/no/such/file.csv"]).contains("/no/such/file.csv"));
    assert!(one_line_error(&["run", "--format", "xml"]).contains("xml"));
    assert!(one_line_error(&["run", "--set", "top_k=0"]).contains("top_k"));
    assert!(one_line_error(&["frobnicate"]).contains("frobnicate"));
}
