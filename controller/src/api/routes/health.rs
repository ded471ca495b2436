//! `/healthz` (the process answers), `/readyz` (the loop makes progress and the last
//! observation of the backend succeeded) and `/metrics`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::api::Api;
use crate::status::Metrics;

/// The process serves.
#[utoipa::path(get, path = "/healthz", tag = "controller", responses((status = 200, description = "The process serves (`ok`)", content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the loop makes progress and the last observation of the backend succeeded: a
/// controller that cannot see its estate, or whose loop is stuck, is alive but not ready.
#[utoipa::path(get, path = "/readyz", tag = "controller", responses((status = 200, description = "The last observation of the backend succeeded and the loop makes progress", content_type = "text/plain"), (status = 503, description = "The backend has not been observed, the last observation failed, or the loop has completed no step for more than two resync intervals", content_type = "text/plain")))]
pub(crate) async fn readyz(State(api): State<Api>) -> Response {
    match api.live.readiness() {
        Ok(ready) => (StatusCode::OK, ready).into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
    }
}

/// The Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "controller", responses((status = 200, description = "Prometheus metrics (OpenMetrics text)", content_type = "application/openmetrics-text")))]
pub(crate) async fn metrics(State(api): State<Api>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, Metrics::CONTENT_TYPE)], api.metrics.render()).into_response()
}
