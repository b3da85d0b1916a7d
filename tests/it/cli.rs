//! The binary end to end: the sample against the oracle, and one-line errors.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use dataflows::model::{key_of, Key, Settings, Weight};
use dataflows::oracle;
use dataflows::snapshot::RecList;
use interestflow::input::{Format, Ingest};
use serde_json::Value;

pub(crate) fn bin() -> Command {
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
            trending =
                items.iter().map(|e| (id(&e["item"]), e["score"].as_i64().expect("a count"))).collect();
            continue;
        }
        let user = id(&v["user"]);
        personal.remove(&user);
        fallback.remove(&user);
        if let Some(skip) = v.get("skip") {
            fallback.insert(user, skip.as_array().expect("a list").iter().map(id).collect());
        } else {
            let recs = v["recs"].as_array().expect("a list");
            let scale = settings.sim_scale as f64;
            let items: Vec<_> = recs
                .iter()
                .map(|e| (id(&e["item"]), (e["score"].as_f64().expect("a score") * scale).round() as Weight))
                .collect();
            if !items.is_empty() {
                personal.insert(user, items);
            }
        }
    }
    let mut recs: BTreeMap<Key, RecList> =
        personal.into_iter().map(|(u, items)| (u, RecList { items, fallback: false })).collect();
    for (user, skip) in fallback {
        let items: Vec<_> =
            trending.iter().filter(|(i, _)| !skip.contains(i)).take(settings.top_k).copied().collect();
        if !items.is_empty() {
            recs.insert(user, RecList { items, fallback: true });
        }
    }
    recs
}

#[test]
fn sample_run_ends_in_the_oracle_state() {
    let settings = Settings::default();
    let out = std::env::temp_dir().join(format!("interestflow-sample-{}.jsonl", std::process::id()));
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

    let mut ingest = Ingest::open(&settings, Format::Taobao, &[sample()], None).expect("the sample opens");
    let mut arrivals = Vec::new();
    while let Some(batch) = ingest.next_batch(100_000).expect("the sample reads") {
        arrivals.extend(batch);
    }
    let last = arrivals.iter().map(|a| a.event.tick).max().expect("events");
    let want = oracle::snapshot_at(&settings, &arrivals, last);
    assert!(want.recs.len() > 60_000, "the sample gives most users a list");
    assert_eq!(got.len(), want.recs.len());
    assert!(got == want.recs, "the stream's final R(u) equals the oracle's");
}

/// Runs the binary and checks it fails with one line on stderr and nothing on stdout.
pub(crate) fn one_line_error(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("the binary starts");
    assert!(!out.status.success(), "{args:?} fails");
    assert!(out.stdout.is_empty(), "{args:?} writes no output");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?} gives one line: {err}");
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

#[test]
fn emitted_neighbours_and_embeddings_end_in_the_oracle_state() {
    let settings = Settings::default();
    let dir = std::env::temp_dir().join(format!("interestflow-emit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let slice = dir.join("slice.csv");
    let text = std::fs::read_to_string(sample()).expect("the sample");
    let head: String = text.lines().take(8_000).map(|l| format!("{l}\n")).collect();
    std::fs::write(&slice, head).expect("the slice");
    let out = dir.join("changes.jsonl");
    let status = bin()
        .args(["run", "--emit", "neighbours,embeddings", "--out"])
        .arg(&out)
        .arg(&slice)
        .status()
        .expect("the binary starts");
    assert!(status.success());
    let stream = std::fs::read_to_string(&out).expect("the stream");
    let mut neighbours: BTreeMap<Key, Vec<(Key, Weight)>> = BTreeMap::new();
    let mut h: BTreeMap<Key, Vec<i64>> = BTreeMap::new();
    let id = |v: &Value| key_of(v.as_str().expect("ids are strings"));
    for line in stream.lines() {
        let v: Value = serde_json::from_str(line).expect("JSON");
        assert!(v.get("recs").is_none() && v.get("trending").is_none(), "only the streams asked for");
        if let Some(list) = v.get("neighbours") {
            let list: Vec<_> = list
                .as_array()
                .expect("a list")
                .iter()
                .map(|n| (id(&n["user"]), (n["score"].as_f64().expect("score") * 1000.0).round() as Weight))
                .collect();
            neighbours.insert(id(&v["user"]), list);
        } else if let Some(e) = v.get("embedding") {
            let unit = settings.embedding_unit as f64;
            let e: Vec<i64> = e
                .as_array()
                .expect("a list")
                .iter()
                .map(|x| (x.as_f64().expect("float") * unit) as i64)
                .collect();
            h.insert(id(&v["user"]), e);
        }
    }
    neighbours.retain(|_, l| !l.is_empty());
    h.retain(|_, e| !e.is_empty());

    let mut ingest = Ingest::open(&settings, Format::Taobao, &[slice], None).expect("opens");
    let mut arrivals = Vec::new();
    while let Some(batch) = ingest.next_batch(100_000).expect("reads") {
        arrivals.extend(batch);
    }
    let last = arrivals.iter().map(|a| a.event.tick).max().expect("events");
    let want = oracle::snapshot_at(&settings, &arrivals, last);
    let mut want_neighbours: BTreeMap<Key, Vec<(Key, Weight)>> = BTreeMap::new();
    for (u, v, s) in &want.neighbours {
        want_neighbours.entry(*u).or_default().push((*v, *s));
    }
    for list in want_neighbours.values_mut() {
        list.sort_by_key(|(v, s)| (std::cmp::Reverse(*s), *v));
    }
    assert!(!want_neighbours.is_empty(), "the slice has neighbours");
    assert!(neighbours == want_neighbours, "N(u) from the stream equals the oracle's");
    assert_eq!(h.len(), want.h.len(), "an embedding line for every user with an edge");
    assert!(
        h.iter().all(|(u, e)| e.len() == settings.dim && want.h.get(u) == Some(e)),
        "h(u) equals the oracle's"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_input_is_never_overwritten_and_an_empty_run_fails() {
    let dir = std::env::temp_dir().join(format!("interestflow-guard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let input = dir.join("events.csv");
    let line = "543462,1715,1464116,pv,1511658000\n";
    std::fs::write(&input, line).expect("write");
    let path = input.to_str().expect("utf-8 path");
    for flag in ["--out", "--rejects", "--stats"] {
        let err = one_line_error(&["run", flag, path, path]);
        assert!(err.contains("is also an input file"), "{flag}: {err}");
        assert_eq!(
            std::fs::read_to_string(&input).expect("still there"),
            line,
            "{flag} left the input alone"
        );
    }
    let garbage = dir.join("garbage.csv");
    std::fs::write(&garbage, "1,2,3\n4,5\n").expect("write");
    let out = bin().args(["run", "--format", "taobao"]).arg(&garbage).output().expect("runs");
    assert!(!out.status.success(), "a run that accepted nothing fails");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().last().is_some_and(|l| l.contains("no event was accepted")), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_overlong_line_is_rejected_and_the_next_lines_are_read() {
    let dir = std::env::temp_dir().join(format!("interestflow-long-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let input = dir.join("events.csv");
    let long = "9".repeat(3 << 20);
    let good = "543462,1715,1464116,pv,1511658000\n";
    std::fs::write(&input, format!("{long}\n{good}x\n")).expect("write");
    let rejects = dir.join("rejects.jsonl");
    let out = bin()
        .args(["check", "--format", "taobao", "--rejects"])
        .arg(&rejects)
        .arg(&input)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = std::fs::read_to_string(&rejects)
        .expect("rejects written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 2, "the long line and `x`");
    assert_eq!(lines[0]["reason"], "too_long");
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[1]["line"], 3);
    assert_eq!(
        lines[1]["offset"].as_u64(),
        Some((long.len() + 1 + good.len()) as u64),
        "offsets count the skipped bytes"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
