//! Running the router on a socket, safe on an open network: connections are accepted up to a
//! cap (a clean `503` and close above it, never an accept-error loop), each with a header-read
//! timeout and an idle timeout; on SIGTERM or Ctrl-C the server stops accepting, lets requests
//! in flight finish for at most the shutdown grace, then closes what is left and returns.
//!
//! The request-body deadline lives with the request handling ([`super::gate`]), since it
//! counts against the request's whole time budget.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

use super::activity::{Activity, TrackedIo};
use super::settings::ConnectionPolicy;

/// What a client over the connection cap reads before the server closes the connection.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 53\r\n\r\n\
{\"error\":\"too many connections; retry in a second\"}\r\n";

/// Refusals being written at once; a connection beyond it is closed without an answer.
const MAX_REFUSALS: usize = 256;

/// Serves `app` on `listener` under `policy` until `shutdown` completes; then stops accepting,
/// lets every open connection finish its request for at most `policy.shutdown_grace`, closes
/// the connections still open after it (logged as a warning) and returns.
///
/// Every request carries [`ConnectInfo<SocketAddr>`] with the peer's address.
///
/// Errors: none after start; failed accepts are logged and retried (a full file-descriptor
/// table is waited out, not spun on).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    policy: ConnectionPolicy,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(policy.max_connections));
    let refusals = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let (app, stop) = (app.clone(), stop_rx.clone());
                connections.spawn(async move {
                    connection(stream, peer, app, policy, stop).await;
                    drop(permit);
                });
            }
            Err(_) => refuse(stream, peer, &refusals),
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(policy.shutdown_grace, drain)
        .await
        .is_err()
    {
        tracing::warn!(
            connections = connections.len(),
            grace_s = policy.shutdown_grace.as_secs_f64(),
            "shutdown grace over: closing the connections still open"
        );
        connections.abort_all();
    }
    Ok(())
}

/// Serves one connection: HTTP/1.1 with keep-alive, the header-read timeout, and closed once
/// no byte has moved for the idle timeout while no request is being handled; on shutdown,
/// closed after its request in flight.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    policy: ConnectionPolicy,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(TrackedIo::new(stream, activity.clone()));
    let handling = activity.clone();
    let service = service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let busy = handling.busy();
        let app = app.clone();
        async move {
            let response = app.oneshot(req.map(axum::body::Body::new)).await;
            drop(busy);
            response
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(policy.header_timeout)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut tick = tokio::time::interval(check_interval(policy.idle_timeout));
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                return;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => {
                if activity.idle_for() >= policy.idle_timeout {
                    tracing::debug!(%peer, "idle timeout: connection closed");
                    return;
                }
            }
        }
    }
}

/// How often a connection checks its idle time: a tenth of the timeout, within 50 ms..1 s.
fn check_interval(idle: Duration) -> Duration {
    (idle / 10).clamp(Duration::from_millis(50), Duration::from_secs(1))
}

/// Answers a connection over the cap with [`REFUSAL`] and closes it (waiting at most a second
/// for the client to read it), without holding the accept loop.
fn refuse(mut stream: TcpStream, peer: SocketAddr, refusals: &Arc<AtomicUsize>) {
    tracing::debug!(%peer, "connection cap reached: refused");
    warn_refused();
    if refusals.fetch_add(1, Ordering::Relaxed) >= MAX_REFUSALS {
        refusals.fetch_sub(1, Ordering::Relaxed);
        return;
    }
    let refusals = refusals.clone();
    tokio::spawn(async move {
        let answer = async {
            stream.write_all(REFUSAL).await?;
            stream.shutdown().await?;
            // Read what the client sent until it closes, so that closing does not reset the
            // connection before the client has read the answer.
            let mut sink = [0u8; 4096];
            while stream.try_read(&mut sink).map_or(true, |n| n > 0) {
                stream.readable().await?;
            }
            io::Result::Ok(())
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), answer).await;
        refusals.fetch_sub(1, Ordering::Relaxed);
    });
}

/// Warns that connections are being refused, at most once per 10 s (a flood must not flood
/// the log), with the count since the last warning.
fn warn_refused() {
    static REFUSED: AtomicUsize = AtomicUsize::new(0);
    static LAST_WARNING_S: AtomicU64 = AtomicU64::new(0);
    let refused = REFUSED.fetch_add(1, Ordering::Relaxed) + 1;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST_WARNING_S.load(Ordering::Relaxed);
    if now >= last + 10
        && LAST_WARNING_S
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        REFUSED.fetch_sub(refused, Ordering::Relaxed);
        tracing::warn!(
            refused,
            "connection cap reached (--max-connections): connections refused with 503"
        );
    }
}

/// Logs a failed accept; when the process is out of file descriptors (or memory), waits
/// 100 ms so that the loop does not spin while connections are full.
async fn accept_failed(e: &io::Error) {
    const EXHAUSTED: [i32; 4] = [
        12,  /* ENOMEM */
        23,  /* ENFILE */
        24,  /* EMFILE */
        105, /* ENOBUFS */
    ];
    if e.raw_os_error()
        .is_some_and(|code| EXHAUSTED.contains(&code))
    {
        tracing::warn!(error = %e, "accept failed: out of file descriptors or memory (raise `ulimit -n` or lower --max-connections)");
        tokio::time::sleep(Duration::from_millis(100)).await;
    } else {
        tracing::debug!(error = %e, "accept failed");
    }
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        _ = term => tracing::info!("SIGTERM: shutting down"),
    }
}
