//! The controller's HTTP API (axum), served by `watch --listen ADDR` (default 127.0.0.1:9464):
//! the status, the observed and desired estate, the current plan and drift, the audit trail and
//! its verdict, a Server-Sent Events stream, `POST /api/v1/sync`, the simulator's fault
//! controls, `/metrics`, `/healthz` and `/readyz`. Every request must name the controller in
//! its `Host` header ([`Hosts`]: the listen address, `localhost`, `127.0.0.1` or `[::1]` with
//! its port, or a `watch --api-host` name), so that a web page cannot reach it through DNS
//! rebinding. Mutating endpoints always need the operator token ([`token`]); reads that make
//! the backend observe (`GET /api/v1/estate?refresh=true`) need a token, the read-only one or
//! the operator's; on a non-loopback address every endpoint but `/healthz` does. Requests
//! are bounded in size, time, concurrency and rate (tower, tower-http, tower_governor), and
//! connections in number and in how long their headers may take ([`server`]).

mod body;
pub mod client;
mod closed;
mod derived;
pub mod openapi;
mod problem;
mod routes;
pub mod server;
pub mod token;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use crate::app::backend::Backend;
use crate::status::Live;
use crate::status::Metrics;
use problem::Problem;
pub use token::Token;

/// The largest request body accepted (a fault or a sync request is a few hundred bytes).
pub const BODY_LIMIT: usize = 64 * 1024;
/// How long a request may take (observing the estate on request included); the event stream
/// is not bounded.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Requests handled at once.
pub const CONCURRENCY: usize = 512;
/// Requests a client (by IP address) may make per second by default, sustained; bursts of
/// twice that (`watch --api-rate`).
pub const RATE_PER_SECOND: u64 = 5_000;

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    /// What the loop publishes.
    pub live: Arc<Live>,
    /// The Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// The backend the loop reconciles (observed again on request, the simulator's faults).
    pub backend: Backend,
    /// The state directory (the audit trail is read from its files).
    pub state_dir: PathBuf,
    /// The operator's bearer token (`STATE/api-token`): every request.
    pub token: Token,
    /// The read-only bearer token (`STATE/api-token-read`): reads only.
    pub read_token: Token,
    /// The names the `Host` header may carry.
    pub hosts: Hosts,
    /// Whether every endpoint but `/healthz` needs the token (a non-loopback address).
    pub token_for_reads: bool,
    /// Requests a client (by IP address) may make per second ([`RATE_PER_SECOND`] by default).
    pub rate_per_second: u64,
}

/// The `Host` header values the API answers to (DNS rebinding: a page of another site that
/// resolves its own name to 127.0.0.1 sends its own name as the host, which is refused).
#[derive(Clone, Debug)]
pub struct Hosts(Arc<Vec<String>>);

impl Hosts {
    /// The listen address `addr` as a client writes it, `localhost`, `127.0.0.1` and `[::1]`
    /// with its port, and each of `extra` (`watch --api-host NAME`: the name alone, as a proxy
    /// on the default port sends it, or with the listen port; `NAME:PORT` as it is).
    pub fn new(addr: SocketAddr, extra: &[String]) -> Hosts {
        let port = addr.port();
        let mut v =
            vec![addr.to_string(), format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")];
        for name in extra {
            let name = name.trim().to_ascii_lowercase();
            if name.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) && !name.ends_with(']') {
                v.push(name);
            } else {
                v.push(format!("{name}:{port}"));
                v.push(name);
            }
        }
        v.sort();
        v.dedup();
        Hosts(Arc::new(v))
    }

    /// Whether a request with this `Host` header is answered (names compare without case).
    pub fn admits(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        self.0.contains(&host)
    }

    /// The values admitted, for a refusal.
    pub fn listed(&self) -> String {
        self.0.join(", ")
    }
}

/// Binds `addr`, refusing a non-loopback address without `insecure` (TLS is not served by the
/// controller itself).
pub async fn bind(addr: SocketAddr, insecure: bool) -> anyhow::Result<TcpListener> {
    if !addr.ip().is_loopback() && !insecure {
        anyhow::bail!(
            "--listen {addr} is not a loopback address: the API would be reachable from the network without TLS, which the controller does not serve itself. Put a TLS-terminating proxy in front and pass --insecure-listen (every endpoint but /healthz then needs the token in STATE/{}), or listen on 127.0.0.1",
            token::FILE
        );
    }
    TcpListener::bind(addr).await.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            "another process listens there (another `watch`?); choose another address with --listen ADDR, or --no-listen"
        } else {
            "choose another address with --listen ADDR, or --no-listen"
        };
        anyhow::anyhow!("cannot listen on {addr}: {e}; {hint}")
    })
}

/// The router with every endpoint and limit.
pub fn router(api: Api) -> Router {
    use tower_governor::GovernorLayer;
    use tower_governor::governor::GovernorConfigBuilder;
    let rate = api.rate_per_second.clamp(1, 1_000_000_000);
    let governor = GovernorConfigBuilder::default()
        .per_nanosecond(1_000_000_000 / rate)
        .burst_size(u32::try_from(2 * rate).unwrap_or(u32::MAX))
        .finish()
        .expect("a valid rate limit");
    let bounded = routes::bounded()
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT));
    Router::new()
        .merge(bounded)
        .merge(routes::streams())
        .layer(middleware::from_fn_with_state(api.clone(), authorize))
        .layer(middleware::from_fn_with_state(api.clone(), check_host))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(CONCURRENCY))
        .layer(GovernorLayer::new(governor).error_handler(too_many))
        .layer(problem::AsProblemsLayer)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(api)
}

/// Serves until `shutdown` resolves, with the default connection limits
/// ([`server::ConnLimits`]).
pub async fn serve(
    listener: TcpListener,
    api: Api,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, api, server::ConnLimits::default(), shutdown).await
}

/// Serves until `shutdown` resolves, with the given connection limits.
pub async fn serve_with(
    listener: TcpListener,
    api: Api,
    limits: server::ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let live = api.live.clone();
    let shutdown = async move {
        shutdown.await;
        live.close();
    };
    server::run(listener, router(api), limits, shutdown).await
}

/// A refusal by the rate limit, in the API's error shape, with when to retry.
fn too_many(e: tower_governor::GovernorError) -> Response {
    use tower_governor::GovernorError;
    match e {
        GovernorError::TooManyRequests { wait_time, headers } => {
            let mut r = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many requests from this address: retry in {wait_time} s (the limit is `watch --api-rate` requests per second)"
                ),
            )
            .into_response();
            if let Some(h) = headers {
                r.headers_mut().extend(h);
            }
            r
        }
        GovernorError::UnableToExtractKey => Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the client's address is unknown: the request cannot be rate-limited",
        )
        .into_response(),
        GovernorError::Other { code, msg, .. } => {
            Problem::new(code, msg.as_deref().unwrap_or("refused")).into_response()
        }
    }
}

/// A request whose `Host` header does not name this controller is answered 421 (400 without
/// one) before anything else: a page that reached 127.0.0.1 through a name of its own (DNS
/// rebinding) gets nothing.
async fn check_host(State(api): State<Api>, request: Request, next: Next) -> Response {
    let host = request.headers().get(axum::http::header::HOST).map(|v| v.to_str().unwrap_or("(not text)"));
    match host {
        Some(h) if api.hosts.admits(h) => next.run(request).await,
        Some(h) => Problem::new(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "the Host header `{h}` does not name this controller (it answers to {}): a page of another site may be reaching it through DNS rebinding. If you reach it under that name (a proxy), start `watch` with --api-host NAME",
                api.hosts.listed()
            ),
        )
        .into_response(),
        None => Problem::new(
            StatusCode::BAD_REQUEST,
            format!("the request has no Host header: send one of {}", api.hosts.listed()),
        )
        .into_response(),
    }
}

/// Who a request's bearer token says it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// No token, or a wrong one.
    Nobody,
    /// The read-only token.
    Reader,
    /// The operator token.
    Operator,
}

/// Mutations always need the operator token (the read-only one is refused 403); reads that
/// make the backend observe need a token, and every read does when `token_for_reads`;
/// `/healthz` never.
async fn authorize(State(api): State<Api>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let mutating = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let observes = routes::estate::observes(request.uri());
    let needs = path != "/healthz" && (mutating || api.token_for_reads || observes);
    if !needs {
        return next.run(request).await;
    }
    let header = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let role = if api.token.admits(header) {
        Role::Operator
    } else if api.read_token.admits(header) {
        Role::Reader
    } else {
        Role::Nobody
    };
    match role {
        Role::Operator => next.run(request).await,
        Role::Reader if !mutating => next.run(request).await,
        Role::Reader => Problem::new(
            StatusCode::FORBIDDEN,
            format!(
                "the read-only token ({}/{}) may read, not change: {} {path} needs the operator token in {}/{}",
                api.state_dir.display(),
                token::READ_FILE,
                request.method(),
                api.state_dir.display(),
                token::FILE
            ),
        )
        .into_response(),
        Role::Nobody => {
            let why = if header.is_none() { "no bearer token" } else { "a wrong bearer token" };
            let what = if mutating {
                format!("the token in {}/{} (the CLI sends it)", api.state_dir.display(), token::FILE)
            } else {
                format!(
                    "a token: the read-only one in {}/{} or the operator's in {}/{} (the CLI sends it){}",
                    api.state_dir.display(),
                    token::READ_FILE,
                    api.state_dir.display(),
                    token::FILE,
                    if observes { "; refresh=true makes the backend observe" } else { "" }
                )
            };
            let mut r = Problem::new(
                StatusCode::UNAUTHORIZED,
                format!("{why}: {} {path} needs `Authorization: Bearer TOKEN`, {what}", request.method()),
            )
            .into_response();
            r.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, "Bearer".parse().expect("a header value"));
            r
        }
    }
}
