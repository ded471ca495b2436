//! `/healthz` (the process answers), `/readyz` (the last observation of the backend
//! succeeded) and `/metrics`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::api::Api;
use crate::watch::metrics::Metrics;

/// The process serves.
#[utoipa::path(get, path = "/healthz", tag = "controller", responses((status = 200, description = "The process serves (`ok`)", content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the last observation of the backend succeeded: a controller that cannot see its
/// estate is alive but not ready.
#[utoipa::path(get, path = "/readyz", tag = "controller", responses((status = 200, description = "The last observation of the backend succeeded", content_type = "text/plain"), (status = 503, description = "The backend has not been observed, or the last observation failed", content_type = "text/plain")))]
pub(crate) async fn readyz(State(api): State<Api>) -> Response {
    match api.live.status().last_observation {
        Some(o) if o.ok => (StatusCode::OK, format!("ready: the backend was observed at {}\n", o.at)).into_response(),
        Some(o) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: the last observation ({}) failed: {}\n",
                o.at,
                o.error.as_deref().unwrap_or("unknown error")
            ),
        )
            .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "not ready: the backend has not been observed yet\n").into_response(),
    }
}

/// The Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "controller", responses((status = 200, description = "Prometheus metrics (OpenMetrics text)", content_type = "application/openmetrics-text")))]
pub(crate) async fn metrics(State(api): State<Api>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, Metrics::CONTENT_TYPE)], api.metrics.render()).into_response()
}
