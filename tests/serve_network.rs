//! `tolk serve` on an open network, through real sockets on loopback: slow clients (header
//! trickle, body trickle, idle keep-alive) are disconnected within their timeouts; over the
//! connection cap a client is refused cleanly and `/health` answers again once one leaves; a
//! cap that does not fit `ulimit -n` is a start-up error; SIGTERM with a half-sent request exits
//! 0 within the shutdown grace. Every loop is bounded in count and time.

mod common;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn model() -> &'static Path {
    common::barely_trained_model()
}

/// A running `tolk serve`, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    log: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    /// Starts `tolk serve` on a free loopback port with `flags`, under `ulimit -n` `nofile`
    /// when given, and waits for it to listen.
    fn start(flags: &[&str], nofile: Option<u32>) -> Self {
        let tolk = assert_cmd::cargo::cargo_bin("tolk");
        let limit = nofile.map_or(String::new(), |n| format!("ulimit -n {n} && "));
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(format!("{limit}exec \"$0\" \"$@\""))
            .arg(tolk)
            .args([
                "serve",
                "--threads",
                "1",
                "--addr",
                "127.0.0.1:0",
                "--model",
            ])
            .arg(model())
            .args(flags)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env("OMP_WAIT_POLICY", "PASSIVE")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let addr = common::listen_addr(&mut stderr)
            .unwrap_or_else(|log| panic!("the server did not start: {log}"));
        let log = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
            rest
        });
        Self {
            child,
            addr,
            log: Some(log),
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// `GET /health` on a new connection: the status line, or the error.
    fn health(&self) -> Result<String, String> {
        let mut s = TcpStream::connect(&self.addr).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
        Ok(answer.lines().next().unwrap_or_default().to_string())
    }

    /// Sends SIGTERM and waits at most `within` for the exit; the status and the log.
    fn terminate(mut self, within: Duration) -> (Option<std::process::ExitStatus>, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let started = Instant::now();
        let mut status = None;
        while status.is_none() && started.elapsed() < within {
            status = self.child.try_wait().unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = self.log.take().unwrap().join().unwrap();
        (status, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads until the peer closes (or `within` passes): what was read, and the time it took.
fn read_until_closed(s: &mut TcpStream, within: Duration) -> (String, Duration) {
    let started = Instant::now();
    s.set_read_timeout(Some(within)).unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < within {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
    (
        String::from_utf8_lossy(&all).into_owned(),
        started.elapsed(),
    )
}

/// Writes `bytes` one every `every`, stopping at the first failed write (the server closed).
fn trickle(s: &mut TcpStream, bytes: &[u8], every: Duration) -> usize {
    for (i, b) in bytes.iter().enumerate() {
        if s.write_all(&[*b]).is_err() {
            return i;
        }
        std::thread::sleep(every);
    }
    bytes.len()
}

#[test]
fn slow_clients_are_disconnected_within_their_timeouts() {
    let server = Server::start(
        &[
            "--header-timeout-s",
            "1",
            "--idle-timeout-s",
            "1",
            "--timeout-s",
            "2",
        ],
        None,
    );
    // Headers trickled one byte per 100 ms: closed after the 1 s header timeout.
    let mut s = server.connect();
    let header = b"POST /v1/translate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n";
    let started = Instant::now();
    let sent = trickle(&mut s, header, Duration::from_millis(100));
    let (_, _) = read_until_closed(&mut s, Duration::from_secs(3));
    let took = started.elapsed();
    assert!(sent < header.len(), "all {sent} header bytes were taken");
    assert!(
        took < Duration::from_millis(2500),
        "header trickle held {took:?}"
    );

    // A body trickled one byte per 100 ms: 408 once the 2 s budget is spent.
    let mut s = server.connect();
    s.write_all(b"POST /v1/translate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"src\":").unwrap();
    let started = Instant::now();
    let writer = {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || trickle(&mut w, &[b' '; 60], Duration::from_millis(100)))
    };
    let (answer, _) = read_until_closed(&mut s, Duration::from_secs(5));
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 2 s"), "{answer}");
    assert!(
        took < Duration::from_millis(3500),
        "body trickle held {took:?}"
    );
    drop(s);
    writer.join().unwrap();

    // A kept-alive connection without a next request: closed after the header timeout.
    let mut s = server.connect();
    s.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let (answer, _) = read_until_closed(&mut s, Duration::from_secs(4));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "idle keep-alive held {took:?}"
    );
    assert_eq!(server.health().unwrap(), "HTTP/1.1 200 OK");
}

#[test]
fn over_the_connection_cap_a_client_is_refused_and_health_answers_once_one_leaves() {
    // 128 descriptors: the cap of 32 fits (32 + 64 spare); 40 idle sockets go over it.
    let server = Server::start(
        &["--max-connections", "32", "--header-timeout-s", "30"],
        Some(128),
    );
    let mut idle: Vec<TcpStream> = (0..32).map(|_| server.connect()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut refused = 0;
    for _ in 0..8 {
        let mut s = server.connect();
        let (answer, _) = read_until_closed(&mut s, Duration::from_secs(3));
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
        assert!(answer.contains("too many connections"), "{answer}");
        refused += 1;
    }
    assert_eq!(refused, 8);
    let full = server.health().unwrap();
    assert!(full.starts_with("HTTP/1.1 503"), "{full}");
    idle.pop();
    let started = Instant::now();
    let mut answer = server.health();
    while answer.as_deref() != Ok("HTTP/1.1 200 OK") && started.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
        answer = server.health();
    }
    assert_eq!(answer.as_deref(), Ok("HTTP/1.1 200 OK"));
    let (status, log) = server.terminate(Duration::from_secs(15));
    assert!(status.is_some_and(|s| s.success()), "{status:?}: {log}");
    assert!(!log.contains("Too many open files"), "{log}");
}

#[test]
fn a_connection_cap_over_the_descriptor_limit_is_a_startup_error() {
    let out = Command::new("bash")
        .arg("-c")
        .arg("ulimit -n 128 && exec \"$0\" \"$@\"")
        .arg(assert_cmd::cargo::cargo_bin("tolk"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--max-connections",
            "100",
            "--model",
        ])
        .arg(model())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "--max-connections 100 needs 164 file descriptors but this process may open 128"
        ),
        "{err}"
    );
}

#[test]
fn sigterm_with_a_half_sent_request_exits_0_within_the_grace() {
    let server = Server::start(
        &["--shutdown-grace-s", "1", "--header-timeout-s", "60"],
        None,
    );
    let mut half = server.connect();
    half.write_all(b"POST /v1/translate HTTP/1.1\r\nhost: x\r\ncontent-length: 50\r\n\r\n{\"src\"")
        .unwrap();
    let mut headers_only = server.connect();
    headers_only
        .write_all(b"GET /health HTTP/1.1\r\nhos")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let (status, log) = server.terminate(Duration::from_secs(10));
    let took = started.elapsed();
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?} after {took:?}: {log}"
    );
    assert!(took < Duration::from_secs(4), "exit took {took:?}: {log}");
    assert!(log.contains("SIGTERM: shutting down"), "{log}");
}
