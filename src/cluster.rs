//! Cluster runs: the flags, the hostfile, the connections between the processes (made
//! here with a deadline and a handshake, then handed to timely's own networking), the
//! one-line exit when a peer is lost mid-run, and `--local-cluster`.
//!
//! Process 0 reads the input and writes every output; the other processes only run
//! workers (see `dataflows::exec::run_on`).

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use dataflows::exec::{Observe, Topology};
use dataflows::model::Settings;

/// The exit status of a process that lost a peer mid-run.
pub const LOST_PEER_EXIT: i32 = 3;

/// Where this process sits in a cluster: shared by `run` (and later `evaluate`).
#[derive(Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Processes in the cluster, each running --workers threads (1: no cluster).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub processes: u16,
    /// This process's index, 0-based. Process 0 reads the input and writes the outputs.
    #[arg(long, default_value_t = 0)]
    pub process: u16,
    /// The processes' addresses, one `host:port` per line, line i for process i
    /// (default: localhost:2101, localhost:2102, ...).
    #[arg(long, value_name = "FILE")]
    pub hostfile: Option<PathBuf>,
    /// How long to wait for every peer to connect (and for a silent peer's host to
    /// answer), e.g. `30s`, `500ms`, `2m`.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub peer_timeout: Duration,
    /// Starts N processes of this same command on loopback (free ports), waits for
    /// them, and fails if one of them does.
    #[arg(long, value_name = "N", conflicts_with_all = ["processes", "process", "hostfile"],
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub local_cluster: Option<u16>,
}

/// `30s`, `500ms`, `2m`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 =
        number.parse().map_err(|_| format!("`{text}` is not a duration such as 30s or 500ms"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" => value,
        "m" | "min" => value * 60.0,
        _ => return Err(format!("`{text}`: the unit must be ms, s or m")),
    };
    if !(0.1..=86_400.0).contains(&seconds) {
        return Err(format!("`{text}`: must be between 100ms and 24h"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A cluster as configured: its addresses and this process's place.
#[derive(Debug, Clone)]
pub struct Plan {
    pub process: usize,
    pub addresses: Vec<String>,
    pub workers: usize,
    pub timeout: Duration,
}

impl Plan {
    pub fn new(args: &ClusterArgs, workers: usize) -> Result<Plan> {
        let processes = args.processes as usize;
        let process = args.process as usize;
        if process >= processes {
            bail!("--process {process} is not below --processes {processes} (indices start at 0)");
        }
        let addresses = match &args.hostfile {
            Some(path) => read_hostfile(path, processes)?,
            None => (0..processes).map(|i| format!("localhost:{}", 2101 + i)).collect(),
        };
        Ok(Plan { process, addresses, workers, timeout: args.peer_timeout })
    }

    pub fn processes(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_cluster(&self) -> bool {
        self.processes() > 1
    }

    /// "1 worker", "2 workers", "2 processes x 2 workers".
    pub fn describe(&self) -> String {
        let w = if self.workers == 1 { "1 worker".to_string() } else { format!("{} workers", self.workers) };
        if self.is_cluster() {
            format!("{} processes x {w}", self.processes())
        } else {
            w
        }
    }

    /// Connects to every peer (or fails naming the peers not reached within the timeout)
    /// and, in a cluster, makes a lost peer end this process with one line.
    pub fn connect(&self, fingerprint: u64, stop: &AtomicBool) -> Result<Topology> {
        if !self.is_cluster() {
            return Ok(Topology::single(self.workers));
        }
        let hello = Hello {
            process: self.process as u64,
            processes: self.processes() as u64,
            workers: self.workers as u64,
            fingerprint,
        };
        let peers = connect(&self.addresses, hello, self.timeout, stop)?;
        exit_on_lost_peer(self.process, self.addresses.clone());
        tracing::info!(
            "process {} of {}: connected to every peer ({} workers in all)",
            self.process,
            self.processes(),
            self.processes() * self.workers
        );
        Ok(Topology { workers: self.workers, process: self.process, peers })
    }
}

/// The first `processes` addresses of a hostfile (blank lines and `#` comments skipped).
pub fn read_hostfile(path: &Path, processes: usize) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the hostfile", path.display()))?;
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() < processes {
        bail!(
            "{}: the hostfile has {} address(es), --processes asks for {processes} (one host:port per line)",
            path.display(),
            lines.len()
        );
    }
    for (i, line) in lines.iter().take(processes).enumerate() {
        if line.rsplit_once(':').and_then(|(_, port)| port.parse::<u16>().ok()).is_none() {
            bail!("{}: line {} `{line}` is not host:port", path.display(), i + 1);
        }
    }
    Ok(lines.into_iter().take(processes).collect())
}

/// What a process must agree on with its peers: a stable hash of the settings, the
/// observed outputs, the shape of the cluster and the version (the dataflows must be
/// built identically on every process).
pub fn fingerprint(settings: &Settings, observe: Observe, plan: &Plan) -> u64 {
    // `--profile` only adds logging; it does not change the dataflow.
    let observe = Observe { profile: false, ..observe };
    let text = format!(
        "{}|{}|{:?}|{}x{}|{}",
        env!("CARGO_PKG_VERSION"),
        serde_json::to_string(settings).unwrap_or_default(),
        observe,
        plan.processes(),
        plan.workers,
        "interestflow-cluster-1"
    );
    // FNV-1a, 64 bits: the same in every build.
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

const MAGIC: &[u8; 8] = b"IFLOWCL1";
const HELLO_LEN: usize = 8 + 4 * 8;

/// The handshake each side of a connection sends once, before timely takes the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Hello {
    process: u64,
    processes: u64,
    workers: u64,
    fingerprint: u64,
}

impl Hello {
    fn bytes(&self) -> [u8; HELLO_LEN] {
        let mut out = [0u8; HELLO_LEN];
        out[..8].copy_from_slice(MAGIC);
        for (i, v) in [self.process, self.processes, self.workers, self.fingerprint].iter().enumerate() {
            out[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_be_bytes());
        }
        out
    }

    fn parse(bytes: &[u8; HELLO_LEN]) -> Option<Hello> {
        if &bytes[..8] != MAGIC {
            return None;
        }
        let field = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[8 + 8 * i..16 + 8 * i]);
            u64::from_be_bytes(b)
        };
        Some(Hello { process: field(0), processes: field(1), workers: field(2), fingerprint: field(3) })
    }

    /// A peer that would build another dataflow: fatal on both sides.
    fn mismatch(&self, other: &Hello, address: &str) -> Option<String> {
        if other.processes != self.processes || other.workers != self.workers {
            return Some(format!(
                "process {} ({address}) runs as {} processes x {} workers, this one as {} x {}: give every process the same --processes and --workers",
                other.process, other.processes, other.workers, self.processes, self.workers
            ));
        }
        if other.fingerprint != self.fingerprint {
            return Some(format!(
                "process {} ({address}) has other settings or --emit (or another version): give every process the same --config, --set and --emit",
                other.process
            ));
        }
        None
    }
}

enum Attempt {
    /// Not (yet) reached: why, for the timeout message.
    Retry(String),
    /// A misconfigured cluster: stop at once.
    Fatal(String),
}

/// One stream per process (`None` at this one): connects to the lower-indexed
/// processes and accepts the higher-indexed ones, as timely's own setup does, but
/// within `timeout`, and checks that every peer belongs to the same cluster.
fn connect(
    addresses: &[String],
    hello: Hello,
    timeout: Duration,
    stop: &AtomicBool,
) -> Result<Vec<Option<TcpStream>>> {
    let me = hello.process as usize;
    let n = addresses.len();
    let deadline = Instant::now() + timeout;
    let listener = if me + 1 < n {
        let listener = bind(&addresses[me]).with_context(|| {
            format!("process {me}: cannot listen on {} (line {} of the hostfile)", addresses[me], me + 1)
        })?;
        listener.set_nonblocking(true).context("cannot set the listener non-blocking")?;
        Some(listener)
    } else {
        None
    };
    let mut peers: Vec<Option<TcpStream>> = (0..n).map(|_| None).collect();
    let mut why: Vec<String> = vec!["did not connect".to_string(); n];
    loop {
        for j in 0..me {
            if peers[j].is_some() {
                continue;
            }
            match dial(&addresses[j], j, hello, deadline) {
                Ok(stream) => peers[j] = Some(stream),
                Err(Attempt::Retry(e)) => why[j] = e,
                Err(Attempt::Fatal(e)) => bail!("process {me}: {e}"),
            }
        }
        if let Some(listener) = &listener {
            loop {
                match listener.accept() {
                    Ok((stream, from)) => match answer(stream, hello, addresses, &peers, deadline) {
                        Ok((j, stream)) => peers[j] = Some(stream),
                        Err(Attempt::Retry(e)) => {
                            tracing::warn!("process {me}: ignored a connection from {from}: {e}")
                        }
                        Err(Attempt::Fatal(e)) => bail!("process {me}: {e}"),
                    },
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => bail!("process {me}: cannot accept connections on {}: {e}", addresses[me]),
                }
            }
        }
        let missing: Vec<usize> = (0..n).filter(|j| *j != me && peers[*j].is_none()).collect();
        if missing.is_empty() {
            break;
        }
        if stop.load(Ordering::Relaxed) {
            bail!("process {me}: stopped by a signal while waiting for the peers");
        }
        if Instant::now() >= deadline {
            let list: Vec<String> =
                missing.iter().map(|j| format!("process {j} ({}) {}", addresses[*j], why[*j])).collect();
            bail!(
                "process {me}: the cluster did not form within {:?}: {} (start every process, or raise --peer-timeout)",
                timeout,
                list.join("; ")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for stream in peers.iter().flatten() {
        stream.set_read_timeout(None).context("cannot reset the socket timeout")?;
        stream.set_write_timeout(None).context("cannot reset the socket timeout")?;
        keepalive(stream, timeout);
    }
    Ok(peers)
}

fn bind(address: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(address)
}

fn resolve(address: &str) -> Result<SocketAddr, String> {
    address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve: {e}"))?
        .next()
        .ok_or_else(|| "resolves to no address".to_string())
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(200))
}

/// Connects to process `j`, sends our hello and checks its answer.
fn dial(address: &str, j: usize, hello: Hello, deadline: Instant) -> Result<TcpStream, Attempt> {
    let addr = resolve(address).map_err(Attempt::Retry)?;
    let mut stream = TcpStream::connect_timeout(&addr, remaining(deadline).min(Duration::from_secs(1)))
        .map_err(|e| Attempt::Retry(format!("not reached: {e}")))?;
    let io = |e: std::io::Error| Attempt::Retry(format!("handshake failed: {e}"));
    stream.set_nodelay(true).map_err(io)?;
    stream.set_read_timeout(Some(remaining(deadline))).map_err(io)?;
    stream.write_all(&hello.bytes()).map_err(io)?;
    let mut reply = [0u8; HELLO_LEN];
    stream.read_exact(&mut reply).map_err(io)?;
    let other = Hello::parse(&reply)
        .ok_or_else(|| Attempt::Retry("answered, but is not an interestflow cluster process".to_string()))?;
    if let Some(e) = hello.mismatch(&other, address) {
        return Err(Attempt::Fatal(e));
    }
    if other.process as usize != j {
        return Err(Attempt::Fatal(format!(
            "{address} answered as process {}, but is line {} of the hostfile: every process needs the same hostfile",
            other.process,
            j + 1
        )));
    }
    Ok(stream)
}

/// Reads a connecting peer's hello, answers with ours, and checks it.
fn answer(
    mut stream: TcpStream,
    hello: Hello,
    addresses: &[String],
    peers: &[Option<TcpStream>],
    deadline: Instant,
) -> Result<(usize, TcpStream), Attempt> {
    let io = |e: std::io::Error| Attempt::Retry(format!("handshake failed: {e}"));
    stream.set_nonblocking(false).map_err(io)?;
    stream.set_nodelay(true).map_err(io)?;
    stream.set_read_timeout(Some(remaining(deadline).min(Duration::from_secs(5)))).map_err(io)?;
    let mut bytes = [0u8; HELLO_LEN];
    stream.read_exact(&mut bytes).map_err(io)?;
    let other =
        Hello::parse(&bytes).ok_or_else(|| Attempt::Retry("not an interestflow cluster process".into()))?;
    stream.write_all(&hello.bytes()).map_err(io)?;
    let j = other.process as usize;
    let from = stream.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    let address = match addresses.get(j) {
        Some(listed) => listed.clone(),
        None => from,
    };
    if let Some(e) = hello.mismatch(&other, &address) {
        return Err(Attempt::Fatal(e));
    }
    if j <= hello.process as usize || j >= peers.len() {
        return Err(Attempt::Fatal(format!(
            "a process at {address} says it is process {j}; process {} only accepts processes above it: check --process and the hostfile",
            hello.process
        )));
    }
    if peers[j].is_some() {
        return Err(Attempt::Fatal(format!(
            "two processes claim to be process {j} (the second from {address})"
        )));
    }
    Ok((j, stream))
}

/// TCP keep-alive, so that a peer whose host went silent (no reset) is noticed within
/// about `timeout` instead of never.
#[cfg(target_os = "linux")]
fn keepalive(stream: &TcpStream, timeout: Duration) {
    use std::os::fd::AsRawFd;
    let secs = timeout.as_secs().max(3) as libc::c_int;
    let fd = stream.as_raw_fd();
    let set = |level: libc::c_int, name: libc::c_int, value: libc::c_int| {
        // SAFETY: fd is an open socket owned by `stream`; value is a plain int.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                &value as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            tracing::debug!("setsockopt {name}: {}", std::io::Error::last_os_error());
        }
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, (secs / 3).max(1));
    set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, (secs / 6).max(1));
    set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 4);
    set(libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, secs.saturating_mul(1000));
}

#[cfg(not(target_os = "linux"))]
fn keepalive(_stream: &TcpStream, _timeout: Duration) {}

/// timely's network threads panic when a peer's connection breaks ("timely
/// communication error: ..."), then every worker panics on the poisoned queues. This
/// hook turns the first such panic into one line naming the peer and exits with
/// `LOST_PEER_EXIT` at once; other panics keep the default report.
fn exit_on_lost_peer(me: usize, addresses: Vec<String>) {
    static LOST: AtomicBool = AtomicBool::new(false);
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        let network = text.starts_with("timely communication error") || text.contains("MergeQueue poisoned");
        if network && !LOST.swap(true, Ordering::SeqCst) {
            let thread = std::thread::current().name().unwrap_or("").to_string();
            let peer = thread
                .strip_prefix("timely:recv-")
                .or_else(|| thread.strip_prefix("timely:send-"))
                .and_then(|p| p.parse::<usize>().ok());
            let who = match peer {
                Some(p) => format!("process {p} ({})", addresses.get(p).map_or("?", |a| a.as_str())),
                None => "a peer".to_string(),
            };
            let cause = text.trim_start_matches("timely communication error: ");
            eprintln!(
                "interestflow: process {me}: lost {who} mid-run ({cause}); a cluster cannot go on without a process, stopping (restart the whole cluster)"
            );
            std::process::exit(LOST_PEER_EXIT);
        }
        if LOST.load(Ordering::SeqCst) {
            // The process is exiting; the first line said it all.
            loop {
                std::thread::park();
            }
        }
        default(info);
    }));
}

/// `--local-cluster N`: this command again as N processes on loopback, on free ports
/// (a hostfile in the temporary directory). Process 0 inherits stdin and stdout.
/// A signal is passed on to process 0 (which ends the run for all); a second one kills
/// them all. If a process fails, the others are stopped and the run fails.
pub fn launch_local(n: usize) -> Result<()> {
    let ports = free_ports(n).context("cannot find free loopback ports")?;
    let hostfile = std::env::temp_dir().join(format!("interestflow-local-{}.hosts", std::process::id()));
    let text: String = ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect();
    std::fs::write(&hostfile, text).with_context(|| format!("{}: cannot write", hostfile.display()))?;
    let result = supervise(n, &hostfile);
    let _ = std::fs::remove_file(&hostfile);
    result
}

fn supervise(n: usize, hostfile: &Path) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let args = without_local_cluster(std::env::args_os().skip(1));
    let signal = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, signal.clone()).context("cannot install the signal handlers")?;
    }
    let mut children: Vec<(usize, Child)> = Vec::new();
    for i in 0..n {
        let mut cmd = Command::new(&exe);
        cmd.args(&args)
            .args(["--processes", &n.to_string(), "--process", &i.to_string(), "--hostfile"])
            .arg(hostfile)
            .stdin(if i == 0 { Stdio::inherit() } else { Stdio::null() })
            .stdout(if i == 0 { Stdio::inherit() } else { Stdio::null() });
        #[cfg(unix)]
        {
            // Their own process group: a Ctrl-C reaches this process only, which passes it on once.
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        match cmd.spawn() {
            Ok(child) => children.push((i, child)),
            Err(e) => {
                kill_all(&mut children);
                bail!("cannot start process {i} of the local cluster: {e}");
            }
        }
    }
    tracing::info!("local cluster: {n} processes on loopback (hostfile {})", hostfile.display());
    let mut signals = 0;
    let mut failed: Option<String> = None;
    while !children.is_empty() {
        if signal.swap(false, Ordering::SeqCst) {
            signals += 1;
            if signals == 1 {
                if let Some((_, child)) = children.iter().find(|(i, _)| *i == 0) {
                    send_signal(child, libc::SIGTERM);
                }
            } else {
                kill_all(&mut children);
                bail!("local cluster: killed on a second signal");
            }
        }
        let mut i = 0;
        while i < children.len() {
            match children[i].1.try_wait() {
                Ok(Some(status)) => {
                    let (index, _) = children.remove(i);
                    if !status.success() && failed.is_none() {
                        failed = Some(format!("process {index} of the local cluster failed ({status})"));
                        kill_all(&mut children);
                    }
                }
                Ok(None) => i += 1,
                Err(e) => bail!("cannot wait for the local cluster: {e}"),
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    match failed {
        Some(e) => bail!("{e}"),
        None => Ok(()),
    }
}

fn kill_all(children: &mut Vec<(usize, Child)>) {
    for (_, child) in children.iter_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
    children.clear();
}

fn send_signal(child: &Child, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// N distinct free ports on 127.0.0.1 (bound to port 0, then released).
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<std::io::Result<Vec<_>>>()?;
    listeners.iter().map(|l| l.local_addr().map(|a| a.port())).collect()
}

/// The command line without `--local-cluster N` / `--local-cluster=N`.
fn without_local_cluster(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut skip_value = false;
    for arg in args {
        if skip_value {
            skip_value = false;
            continue;
        }
        match arg.to_str() {
            Some("--local-cluster") => skip_value = true,
            Some(a) if a.starts_with("--local-cluster=") => {}
            _ => out.push(arg),
        }
    }
    out
}
