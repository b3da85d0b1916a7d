//! Cluster runs on loopback: 2 processes x 2 workers give exactly the single-process,
//! single-worker output; a peer that never starts, or dies mid-run, ends every other
//! process with one line and a non-zero exit; a misconfigured peer is refused.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::cli::bin;

/// Events of the real sample used here: its first lines (the whole sample takes tens of
/// seconds per run on two shared cores; the slice has every kind of output).
const SLICE_LINES: usize = 25_000;

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("interestflow-cluster-{}-{name}", std::process::id()))
}

/// The first `lines` lines of the sample, as a file of their own.
fn sample_slice(lines: usize, name: &str) -> PathBuf {
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(interestflow::run::SAMPLE);
    let text = std::fs::read_to_string(sample).expect("the sample is there");
    let slice: String = text.lines().take(lines).flat_map(|l| [l, "\n"]).collect();
    let path = temp(name);
    std::fs::write(&path, slice).expect("the slice is written");
    path
}

/// A hostfile of `n` free loopback ports.
fn hostfile(n: usize, name: &str) -> PathBuf {
    let ports = interestflow::cluster::free_ports(n).expect("free ports");
    let text: String = ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect();
    let path = temp(name);
    std::fs::write(&path, text).expect("the hostfile is written");
    path
}

/// One process of a cluster; killed if the test fails before it ends.
struct Process(Option<Child>);

impl Process {
    fn start(hosts: &Path, processes: usize, index: usize, extra: &[&str]) -> Process {
        let child = bin()
            .env("INTERESTFLOW_LOG", "error")
            .args(["run", "--processes", &processes.to_string(), "--process", &index.to_string()])
            .arg("--hostfile")
            .arg(hosts)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        Process(Some(child))
    }

    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }

    /// Waits for the exit (failing the test if it takes longer than `limit`), and
    /// returns the status, stderr and the time it took from `since`.
    fn wait(&mut self, limit: Duration, since: Instant) -> (ExitStatus, String, Duration) {
        let mut child = self.0.take().expect("running");
        loop {
            if let Some(status) = child.try_wait().expect("wait works") {
                let took = since.elapsed();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return (status, err, took);
            }
            if since.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("still running after {limit:?}: the process hangs");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The one line a failed process printed (with logging at `error`, nothing else).
fn the_line(status: ExitStatus, err: &str) -> String {
    assert!(!status.success(), "the process fails: {err}");
    let lines: Vec<&str> = err.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got: {err}");
    lines[0].to_string()
}

#[test]
fn two_processes_of_two_workers_give_the_single_worker_output() {
    let input = sample_slice(SLICE_LINES, "slice.csv");
    let (one, two) = (temp("1x1.jsonl"), temp("2x2.jsonl"));
    let (one_stats, two_stats) = (temp("1x1.json"), temp("2x2.json"));
    let emit = ["--emit", "recs,neighbours,similar"];
    let status = bin()
        .args(["run", "--workers", "1"])
        .args(emit)
        .arg("--out")
        .arg(&one)
        .arg("--stats")
        .arg(&one_stats)
        .arg(&input)
        .stderr(Stdio::null())
        .status()
        .expect("the binary starts");
    assert!(status.success());
    let status = bin()
        .args(["run", "--local-cluster", "2", "--workers", "2"])
        .args(emit)
        .arg("--out")
        .arg(&two)
        .arg("--stats")
        .arg(&two_stats)
        .arg(&input)
        .stderr(Stdio::null())
        .status()
        .expect("the binary starts");
    assert!(status.success(), "the local cluster succeeds");
    let (a, b) = (std::fs::read(&one).expect("1x1 output"), std::fs::read(&two).expect("2x2 output"));
    let stats = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).expect("stats written")).expect("stats are JSON")
    };
    let (sa, sb) = (stats(&one_stats), stats(&two_stats));
    for p in [&input, &one, &two, &one_stats, &two_stats] {
        let _ = std::fs::remove_file(p);
    }
    assert!(a.len() > 100_000, "the slice gives a real stream ({} bytes)", a.len());
    assert!(a == b, "the cluster's stream is byte-identical to one worker's");
    assert_eq!(sa["accounting"], sb["accounting"]);
    assert_eq!(sa["keys_reevaluated"], sb["keys_reevaluated"], "keys summed over every process");
    assert_eq!(sa["vector_updates"], sb["vector_updates"]);
}

#[test]
fn a_peer_that_never_starts_ends_the_others_with_one_line() {
    let hosts = hostfile(2, "missing.hosts");
    let lines = std::fs::read_to_string(&hosts).expect("hostfile");
    let address: Vec<&str> = lines.lines().collect();
    let out = temp("missing.jsonl");
    let out_arg = out.to_str().expect("a UTF-8 temp path");
    let input = sample_slice(100, "missing.csv");
    let input_arg = input.to_str().expect("a UTF-8 temp path");
    for (me, other) in [(0, 1), (1, 0)] {
        let started = Instant::now();
        let mut p = Process::start(&hosts, 2, me, &["--peer-timeout", "1s", "--out", out_arg, input_arg]);
        let (status, err, took) = p.wait(Duration::from_secs(20), started);
        let line = the_line(status, &err);
        assert!(line.contains(&format!("process {me}:")), "names itself: {line}");
        assert!(line.contains(&format!("process {other} ({})", address[other])), "names the peer: {line}");
        assert!(line.contains("1s"), "says how long it waited: {line}");
        eprintln!("process {me} alone: exit {status} after {took:?}: {line}");
    }
    for p in [&hosts, &out, &input] {
        let _ = std::fs::remove_file(p);
    }
}

/// A cluster of two following a file (so it runs until stopped); once the stream has
/// lines, process `victim` is killed; the other must exit 3 with one line naming it.
fn kill_mid_run(victim: usize) {
    let hosts = hostfile(2, &format!("kill{victim}.hosts"));
    let input = sample_slice(2_000, &format!("kill{victim}.csv"));
    let out = temp(&format!("kill{victim}.jsonl"));
    let args = ["--follow", "--peer-timeout", "10s", "--workers", "2", "--out"];
    let (input_arg, out_arg) = (input.to_str().expect("UTF-8"), out.to_str().expect("UTF-8"));
    let mut procs: Vec<Process> =
        (0..2).map(|i| Process::start(&hosts, 2, i, &[&args[..], &[out_arg, input_arg]].concat())).collect();
    let started = Instant::now();
    while std::fs::metadata(&out).map_or(0, |m| m.len()) == 0 {
        for p in procs.iter_mut() {
            if let Ok(Some(status)) = p.child().try_wait() {
                panic!("a process ended before the stream started ({status})");
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the cluster's stream never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let killed = Instant::now();
    procs[victim].child().kill().expect("SIGKILL");
    let survivor = 1 - victim;
    let (status, err, took) = procs[survivor].wait(Duration::from_secs(20), killed);
    let line = the_line(status, &err);
    assert_eq!(status.code(), Some(interestflow::cluster::LOST_PEER_EXIT), "{line}");
    assert!(line.contains(&format!("process {survivor}: lost process {victim}")), "{line}");
    eprintln!("killed process {victim}: process {survivor} exit {status} after {took:?}: {line}");
    for p in [&hosts, &input, &out] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn a_peer_killed_mid_run_ends_process_0_with_one_line() {
    kill_mid_run(1);
}

#[test]
fn process_0_killed_mid_run_ends_the_others_with_one_line() {
    kill_mid_run(0);
}

#[test]
fn a_peer_with_other_settings_is_refused_at_once() {
    let hosts = hostfile(2, "mismatch.hosts");
    let input = sample_slice(100, "mismatch.csv");
    let out = temp("mismatch.jsonl");
    let (input_arg, out_arg) = (input.to_str().expect("UTF-8"), out.to_str().expect("UTF-8"));
    let mut zero = Process::start(&hosts, 2, 0, &["--peer-timeout", "20s", "--out", out_arg, input_arg]);
    let mut one = Process::start(&hosts, 2, 1, &["--peer-timeout", "20s", "--set", "top_k=5"]);
    let started = Instant::now();
    for (me, p) in [(0, &mut zero), (1, &mut one)] {
        let (status, err, took) = p.wait(Duration::from_secs(15), started);
        let line = the_line(status, &err);
        assert!(line.contains(&format!("process {me}:")) && line.contains("--set"), "{line}");
        eprintln!("mismatch: process {me} exit {status} after {took:?}: {line}");
    }
    for p in [&hosts, &input, &out] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn bad_cluster_flags_give_one_line() {
    use crate::cli::one_line_error;
    assert!(one_line_error(&["run", "--processes", "2", "--process", "2"]).contains("--process 2"));
    assert!(one_line_error(&["run", "--processes", "2", "--hostfile", "/no/such/hosts"])
        .contains("/no/such/hosts"));
    assert!(one_line_error(&["run", "--peer-timeout", "soon"]).contains("soon"));
    assert!(one_line_error(&["run", "--local-cluster", "2", "--process", "1"]).contains("--process"));
}

#[test]
fn a_followed_file_streams_through_a_local_cluster_and_sigterm_ends_it() {
    use crate::follow::{append, last_recs, wait_for_user, Running, HEAD};
    let log = temp("follow.csv");
    let out = temp("follow.jsonl");
    std::fs::write(&log, HEAD).expect("write");
    let mut cmd = bin();
    cmd.args(["run", "--local-cluster", "2", "--workers", "2", "--follow", "--poll-ms", "20", "--out"])
        .arg(&out)
        .arg(&log);
    let mut run = Running::start(&mut cmd);
    let text = wait_for_user(&out, "u2", &mut run);
    assert!(last_recs(&text, "u2").contains(&"i2".into()), "{text}");
    append(&log, "1600000003000,u3,i1,view\n");
    let text = wait_for_user(&out, "u3", &mut run);
    assert!(last_recs(&text, "u3").contains(&"i2".into()), "{text}");
    // To the launcher, which passes it on to process 0, which ends the run for all.
    let (status, err) = run.terminate();
    assert!(status.success(), "exit 0 after SIGTERM: {err}");
    assert!(err.contains("records   read 4 = accepted 4 + rejected 0 + duplicates 0"), "the summary: {err}");
    assert!(err.contains("summary (process 1 of 2)"), "process 1 ended too: {err}");
    let text = std::fs::read_to_string(&out).expect("the stream");
    assert!(text.ends_with('\n') && text.contains("\"user\":\"u3\""), "flushed: {text}");
    for p in [&log, &out] {
        let _ = std::fs::remove_file(p);
    }
}
