//! Starting and stopping the etcd and kube-apiserver processes.
//!
//! An attached process runs under a small `sh` watchdog that holds a pipe from us: when this process
//! ends in any way (even SIGKILL, when no destructor runs), the pipe closes and the watchdog kills the
//! server, so a crashed test run leaves nothing behind. A detached process (for `cargo xtask clusters
//! up`) runs in its own process group, outlives us, and is stopped by pid.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, io_err};

/// The watchdog: runs "$@" in the background, prints its pid, kills it when stdin closes, and exits
/// with its status when it exits by itself.
const WATCHDOG: &str = r#"exec 3<&0
"$@" </dev/null 1>&2 &
c=$!
echo "$c"
( read _ <&3; kill -9 "$c" 2>/dev/null ) &
w=$!
wait "$c"
code=$?
kill "$w" 2>/dev/null
exit "$code""#;

/// One running server process.
#[derive(Debug)]
pub struct ServerProcess {
    /// What it is, for messages (`kube-apiserver for east`).
    pub what: String,
    /// Pid of the server itself.
    pub pid: u32,
    /// Its combined stdout and stderr.
    pub log: PathBuf,
    watchdog: Option<(Child, Option<ChildStdin>)>,
}

impl ServerProcess {
    /// Starts `program args` with output to `log`; `detached` keeps it running after we exit.
    pub fn start(what: String, program: &Path, args: &[String], log: PathBuf, detached: bool) -> Result<Self> {
        let out = File::create(&log).map_err(io_err("create", &log))?;
        let err = out.try_clone().map_err(io_err("open", &log))?;
        let spawn_err = |source| Error::Spawn {
            what: what.clone(),
            source,
        };
        if detached {
            use std::os::unix::process::CommandExt;
            let child = Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .process_group(0)
                .spawn()
                .map_err(spawn_err)?;
            return Ok(Self {
                what,
                pid: child.id(),
                log,
                watchdog: None,
            });
        }
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("sh")
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(spawn_err)?;
        drop(out);
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout)
                .read_line(&mut line)
                .map_err(io_err("read pid of", &log))?;
        }
        let pid = line.trim().parse().map_err(|_| Error::Spawn {
            what: what.clone(),
            source: std::io::Error::other(format!("watchdog printed no pid: {line:?}")),
        })?;
        let stdin = child.stdin.take();
        Ok(Self {
            what,
            pid,
            log,
            watchdog: Some((child, stdin)),
        })
    }

    /// Whether it has exited (only known for attached processes; detached ones report `false`).
    pub fn exited(&mut self) -> Option<String> {
        let (child, _) = self.watchdog.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }

    /// Stops the server and waits until it is gone.
    pub fn stop(&mut self) {
        match self.watchdog.take() {
            Some((mut child, stdin)) => {
                drop(stdin);
                let deadline = Instant::now() + Duration::from_secs(10);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                kill_pid(self.pid);
                let _ = child.kill();
                let _ = child.wait();
            }
            None => kill_pid(self.pid),
        }
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Leaves the process running when this value is dropped (detached processes only).
    pub fn into_pid(mut self) -> u32 {
        self.watchdog = None;
        let pid = self.pid;
        std::mem::forget(self);
        pid
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.watchdog.is_some() {
            self.stop();
        }
    }
}

/// Sends SIGKILL to `pid` and waits up to 5 s for it to disappear.
pub fn kill_pid(pid: u32) {
    let _ = Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while pid_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a process with this pid exists and is not a zombie.
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .map(str::trim_start)
            .is_some_and(|s| !s.starts_with('Z')),
        Err(_) => false,
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; a start retries if someone takes it meanwhile).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io_err("bind", "127.0.0.1:0"))?;
    let port = listener.local_addr().map_err(io_err("bind", "127.0.0.1:0"))?.port();
    Ok(port)
}

/// The last `lines` lines of a log file.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
