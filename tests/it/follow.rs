//! `run --follow`: events appended to a file while it runs reach the change stream,
//! a truncated or rotated file is read again and reported, a followed stdin streams,
//! and SIGTERM ends a run cleanly (also a sorted replay).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The child, killed if the test fails before it ends it.
pub(crate) struct Running(Option<Child>);

impl Running {
    pub(crate) fn start(cmd: &mut Command) -> Running {
        Running(Some(cmd.stderr(Stdio::piped()).spawn().expect("the binary starts")))
    }

    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }

    /// SIGTERM, then the exit status and stderr.
    pub(crate) fn terminate(&mut self) -> (std::process::ExitStatus, String) {
        let child = self.0.take().expect("running");
        let status =
            Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
        assert!(status.success());
        let done = child.wait_with_output().expect("it ends");
        (done.status, String::from_utf8_lossy(&done.stderr).into_owned())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn interestflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_interestflow"))
}

pub(crate) fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new().append(true).open(path).expect("the log opens");
    f.write_all(text.as_bytes()).expect("append");
}

/// Waits (up to 60 s) until the change stream has a line for `user`; returns the stream.
pub(crate) fn wait_for_user(out: &Path, user: &str, run: &mut Running) -> String {
    let started = Instant::now();
    let needle = format!("\"user\":\"{user}\"");
    loop {
        let text = std::fs::read_to_string(out).unwrap_or_default();
        if text.contains(&needle) {
            return text;
        }
        if let Ok(Some(status)) = run.child().try_wait() {
            panic!("the run ended early ({status}) before a line for {user}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no line for {user} within 60 s; the stream so far:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The recommended items of the last line for `user`.
pub(crate) fn last_recs(text: &str, user: &str) -> Vec<String> {
    let line = text
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["user"] == user)
        .expect("a line for the user");
    let recs = line["recs"].as_array().cloned().unwrap_or_default();
    recs.iter().filter_map(|r| r["item"].as_str().map(String::from)).collect()
}

pub(crate) const HEAD: &str = "ts,user,item,action\n\
                    1600000000000,u1,i1,view\n\
                    1600000000000,u1,i2,view\n\
                    1600000001000,u2,i1,view\n";

#[test]
fn appended_events_reach_the_stream_and_sigterm_ends_cleanly() {
    let dir = std::env::temp_dir().join(format!("interestflow-follow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let log = dir.join("events.csv");
    let out = dir.join("changes.jsonl");
    // An old file: the frontier follows the wall clock from its newest event.
    std::fs::write(&log, HEAD).expect("write");
    let mut run = Running::start(
        interestflow().args(["run", "--follow", "--poll-ms", "20", "--out"]).arg(&out).arg(&log),
    );
    let text = wait_for_user(&out, "u2", &mut run);
    assert!(last_recs(&text, "u2").contains(&"i2".into()), "{text}");
    // Appended in two writes: the first part of the line waits for its newline.
    append(&log, "1600000003000,u3,");
    std::thread::sleep(Duration::from_millis(300));
    append(&log, "i1,view\n");
    let text = wait_for_user(&out, "u3", &mut run);
    assert!(last_recs(&text, "u3").contains(&"i2".into()), "{text}");
    // Truncated and written anew: read again from the start, header skipped.
    std::fs::write(&log, "ts,user,item,action\n1600000009000,u4,i1,view\n").expect("write");
    wait_for_user(&out, "u4", &mut run);
    // Rotated: the path names a new file.
    let new = dir.join("events.csv.new");
    std::fs::write(&new, "ts,user,item,action\n1600000010000,u5,i1,view\n").expect("write");
    std::fs::rename(&log, dir.join("events.csv.1")).expect("rotate");
    std::fs::rename(&new, &log).expect("rotate");
    wait_for_user(&out, "u5", &mut run);
    let (status, err) = run.terminate();
    assert!(status.success(), "exit 0 after SIGTERM: {err}");
    assert!(err.contains("truncated"), "the truncation is reported: {err}");
    assert!(err.contains("rotated"), "the rotation is reported: {err}");
    assert!(err.contains("records   read 6 = accepted 6 + rejected 0 + duplicates 0"), "the summary: {err}");
    let text = std::fs::read_to_string(&out).expect("the stream");
    assert!(text.ends_with('\n') && text.contains("\"user\":\"u5\""), "flushed: {text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_followed_stdin_is_streamed_as_it_comes() {
    let dir = std::env::temp_dir().join(format!("interestflow-stdin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let out = dir.join("changes.jsonl");
    let mut run = Running::start(
        interestflow()
            .args(["run", "--follow", "--poll-ms", "20", "--out"])
            .arg(&out)
            .arg("-")
            .stdin(Stdio::piped()),
    );
    let mut stdin = run.child().stdin.take().expect("stdin");
    let mut send = |text: &str| {
        stdin.write_all(text.as_bytes()).expect("write");
        stdin.flush().expect("flush");
    };
    send(HEAD);
    let text = wait_for_user(&out, "u2", &mut run);
    assert!(last_recs(&text, "u2").contains(&"i2".into()), "{text}");
    send("1600000003000,u3,i1,");
    std::thread::sleep(Duration::from_millis(200));
    send("view\n");
    wait_for_user(&out, "u3", &mut run);
    let (status, err) = run.terminate();
    assert!(status.success(), "exit 0 after SIGTERM: {err}");
    assert!(err.contains("records   read 4 = accepted 4"), "the summary: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_during_a_sorted_replay_finishes_the_tick_and_reports() {
    let out = std::env::temp_dir().join(format!("interestflow-stop-{}.jsonl", std::process::id()));
    let udata = crate::inputs::data("movielens_ml-100k/u.data");
    // MovieLens is sorted first, and its dense histories take minutes to replay.
    let mut run =
        Running::start(interestflow().args(["run", "--batch", "256", "--out"]).arg(&out).arg(&udata));
    let started = Instant::now();
    while std::fs::metadata(&out).map_or(0, |m| m.len()) == 0 {
        assert!(run.child().try_wait().ok().flatten().is_none(), "the run ended early");
        assert!(started.elapsed() < Duration::from_secs(60), "no output within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, err) = run.terminate();
    assert!(status.success(), "exit 0 after SIGTERM: {err}");
    assert!(err.contains("records   read 100000 = accepted 100000"), "{err}");
    assert!(err.contains("not processed (stop signal)"), "{err}");
    let text = std::fs::read_to_string(&out).expect("the stream");
    assert!(text.ends_with('\n'), "flushed whole lines");
    let _ = std::fs::remove_file(&out);
}
