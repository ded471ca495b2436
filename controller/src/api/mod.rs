//! The controller's HTTP API (axum), served by `watch --listen ADDR` (default 127.0.0.1:9464):
//! the status, the observed and desired estate, the current plan and drift, the audit trail and
//! its verdict, a Server-Sent Events stream, `POST /api/v1/sync`, the simulator's fault
//! controls, `/metrics`, `/healthz` and `/readyz`. Mutating endpoints always need the bearer
//! token ([`token`]); on a non-loopback address every endpoint but `/healthz` does. Requests
//! are bounded in size, time, concurrency and rate (tower, tower-http, tower_governor), and
//! connections in number and in how long their headers may take ([`server`]).

pub mod client;
pub mod live;
pub mod openapi;
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

use crate::backend::Backend;
use crate::watch::metrics::Metrics;
pub use live::Live;
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
    /// The bearer token.
    pub token: Token,
    /// Whether every endpoint but `/healthz` needs the token (a non-loopback address).
    pub token_for_reads: bool,
    /// Requests a client (by IP address) may make per second ([`RATE_PER_SECOND`] by default).
    pub rate_per_second: u64,
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
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(CONCURRENCY))
        .layer(GovernorLayer::new(governor).error_handler(too_many))
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
            let mut r = routes::problem(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "too many requests from this address: retry in {wait_time} s (the limit is `watch --api-rate` requests per second)"
                ),
            );
            if let Some(h) = headers {
                r.headers_mut().extend(h);
            }
            r
        }
        GovernorError::UnableToExtractKey => routes::problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the client's address is unknown: the request cannot be rate-limited",
        ),
        GovernorError::Other { code, msg, .. } => routes::problem(code, msg.as_deref().unwrap_or("refused")),
    }
}

/// Mutations always need the token; reads too when `token_for_reads`; `/healthz` never.
async fn authorize(State(api): State<Api>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let mutating = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let needs = path != "/healthz" && (mutating || api.token_for_reads);
    if needs {
        let header = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if !api.token.admits(header) {
            let why = if header.is_none() { "no bearer token" } else { "a wrong bearer token" };
            let body = routes::problem(
                StatusCode::UNAUTHORIZED,
                &format!(
                    "{why}: {} {path} needs `Authorization: Bearer TOKEN`, the token in {}/{} (the CLI sends it)",
                    request.method(),
                    api.state_dir.display(),
                    token::FILE
                ),
            );
            let mut r = body.into_response();
            r.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, "Bearer".parse().expect("a header value"));
            return r;
        }
    }
    next.run(request).await
}
