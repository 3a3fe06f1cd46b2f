//! One etcd server on loopback.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::process::{ServerProcess, free_port};

/// A running etcd.
#[derive(Debug)]
pub struct Etcd {
    /// Client URL, e.g. `http://127.0.0.1:23791`.
    pub url: String,
    /// The process.
    pub process: ServerProcess,
    restart: Restart,
}

/// How to start the same etcd again.
#[derive(Clone, Debug)]
struct Restart {
    binary: std::path::PathBuf,
    dir: std::path::PathBuf,
    label: String,
    detached: bool,
    ports: (u16, u16),
}

impl Etcd {
    /// Starts etcd with its data under `dir` and waits until it reports healthy.
    pub fn start(binary: &Path, dir: &Path, label: &str, detached: bool) -> Result<Self> {
        let restart = Restart {
            binary: binary.to_path_buf(),
            dir: dir.to_path_buf(),
            label: label.to_owned(),
            detached,
            ports: (free_port()?, free_port()?),
        };
        Self::start_again(restart)
    }

    /// Stops etcd and starts it again on the same ports with the same data (API servers reconnect).
    pub fn restart(&mut self) -> Result<()> {
        self.process.stop();
        let again = Self::start_again(self.restart.clone())?;
        *self = again;
        Ok(())
    }

    fn start_again(restart: Restart) -> Result<Self> {
        let (binary, dir, label, detached) = (&restart.binary, &restart.dir, restart.label.as_str(), restart.detached);
        let (client_port, peer_port) = restart.ports;
        let url = format!("http://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let args = vec![
            "--name=default".to_owned(),
            format!("--data-dir={}", dir.join("etcd-data").display()),
            format!("--listen-client-urls={url}"),
            format!("--advertise-client-urls={url}"),
            format!("--listen-peer-urls={peer}"),
            format!("--initial-advertise-peer-urls={peer}"),
            format!("--initial-cluster=default={peer}"),
            // Test data is thrown away: skipping fsync makes writes an order of magnitude cheaper.
            "--unsafe-no-fsync=true".to_owned(),
            "--log-level=warn".to_owned(),
        ];
        let what = format!("etcd for {label}");
        let mut process = ServerProcess::start(what.clone(), binary, &args, dir.join("etcd.log"), detached)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if healthy(client_port) {
                return Ok(Self { url, process, restart });
            }
            let reason = match process.exited() {
                Some(status) => format!("it exited with {status}"),
                None if Instant::now() > deadline => "no healthy answer within 30s".to_owned(),
                None => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            return Err(Error::NotReady {
                what,
                reason,
                log: process.log.clone(),
                tail: process.log_tail(20),
            });
        }
    }
}

fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.contains("\"health\":\"true\"")
}
