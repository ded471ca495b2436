//! The API's HTTP server: hyper's HTTP/1 connections under the router, with what `axum::serve`
//! does not bound. A connection must send a request's headers within [`HEADER_READ_TIMEOUT`]
//! (a slow or idle client — a slowloris — is closed rather than holding a connection open for
//! ever), and at most [`CONNECTIONS`] connections are served at once (more wait in the
//! listen backlog until one closes). A request's own time, size, concurrency and rate are
//! bounded by the router's tower layers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long a connection may take to send a request's headers, counted from when the server
/// is ready to read them: the start of the connection, or the end of the previous response
/// (so an idle keep-alive connection is closed after this long too).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once.
pub const CONNECTIONS: usize = 1024;

/// The limits a server applies to its connections (the defaults above; tests shorten them).
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    /// See [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// See [`CONNECTIONS`].
    pub connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits { header_read_timeout: HEADER_READ_TIMEOUT, connections: CONNECTIONS }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets every connection finish
/// its request in progress (an event stream ends when the router's state closes it).
pub(crate) async fn run(
    mut listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        // `Listener::accept` logs and retries what accepting can fail with (too many open
        // files, a connection reset before it was accepted).
        let (stream, remote) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let service = router.clone().map_request(move |r: axum::http::Request<Incoming>| {
            let mut r = r.map(Body::new);
            r.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
            r
        });
        let service = TowerToHyperService::new(service);
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%remote, "connection ended: {e}");
            }
            drop(permit);
        });
    }
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// A server of `/healthz` on a free port: its address, what stops it, and its task.
    async fn start(
        limits: ConnLimits,
    ) -> (SocketAddr, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>) {
        let router = Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(listener, router, limits, async move {
            let _ = stopped.await;
        }));
        (addr, stop, server)
    }

    /// Everything the server sends until it closes the connection (which it must do within
    /// three header read timeouts).
    async fn read_to_close(s: &mut TcpStream) -> String {
        let mut got = Vec::new();
        tokio::time::timeout(3 * HEADER_READ_TIMEOUT, s.read_to_end(&mut got))
            .await
            .expect("the server kept the connection open")
            .ok();
        String::from_utf8_lossy(&got).into_owned()
    }

    const REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    // Virtual time: the runtime jumps to the timeout when nothing else can happen.
    #[tokio::test(start_paused = true)]
    async fn headers_sent_too_slowly_close_the_connection() {
        let (addr, _stop, _server) = start(ConnLimits::default()).await;
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let t0 = tokio::time::Instant::now();
        let got = read_to_close(&mut slow).await;
        assert!(!got.contains("200 OK"), "a request without the end of its headers was answered: {got}");
        let waited = t0.elapsed();
        assert!(
            waited >= HEADER_READ_TIMEOUT && waited < HEADER_READ_TIMEOUT + Duration::from_secs(1),
            "closed after {waited:?}, not after the header read timeout"
        );
        // A client that sends its headers at once is answered.
        let mut quick = TcpStream::connect(addr).await.unwrap();
        quick.write_all(REQUEST).await.unwrap();
        let got = read_to_close(&mut quick).await;
        assert!(got.starts_with("HTTP/1.1 200 OK") && got.ends_with("ok"), "{got}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
        let (addr, _stop, _server) = start(ConnLimits::default()).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let t0 = tokio::time::Instant::now();
        let got = read_to_close(&mut s).await;
        assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
        assert!(t0.elapsed() >= HEADER_READ_TIMEOUT, "the kept-alive connection closed after {:?}", t0.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn connections_beyond_the_limit_wait_for_one_to_close() {
        let (addr, _stop, _server) = start(ConnLimits { connections: 1, ..ConnLimits::default() }).await;
        let t0 = tokio::time::Instant::now();
        // The one connection allowed sends nothing: it holds its slot until its timeout.
        let mut idle = TcpStream::connect(addr).await.unwrap();
        let mut second = TcpStream::connect(addr).await.unwrap();
        second.write_all(REQUEST).await.unwrap();
        let got = read_to_close(&mut second).await;
        assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
        assert!(
            t0.elapsed() >= HEADER_READ_TIMEOUT,
            "the second connection was served after {:?}, while the first still held the only slot",
            t0.elapsed()
        );
        assert_eq!(read_to_close(&mut idle).await, "", "the idle connection was sent something");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_accepting_and_ends_the_server() {
        let (addr, stop, server) = start(ConnLimits::default()).await;
        // A kept-alive connection is closed by the shutdown, not left to its timeout.
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut head = [0u8; 15];
        s.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200 OK");
        let t0 = tokio::time::Instant::now();
        stop.send(()).unwrap();
        tokio::time::timeout(HEADER_READ_TIMEOUT / 2, server).await.expect("the server did not stop").unwrap().unwrap();
        assert!(t0.elapsed() < HEADER_READ_TIMEOUT);
        assert!(TcpStream::connect(addr).await.is_err(), "the server still accepts connections");
    }
}
