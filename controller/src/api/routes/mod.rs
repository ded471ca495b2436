//! The API's endpoints, one module per resource.

pub(crate) mod audit;
pub(crate) mod estate;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod sim;
pub(crate) mod status;
pub(crate) mod ui;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::Api;
use super::problem::Problem;

/// The endpoints that answer within [`super::REQUEST_TIMEOUT`].
pub(super) fn bounded() -> Router<Api> {
    Router::new()
        .route("/", get(ui::index))
        .route("/ui/app.js", get(ui::app))
        .route("/ui/style.css", get(ui::style))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/v1/status", get(status::status))
        .route("/api/v1/sync", post(status::sync))
        .route("/api/v1/estate", get(estate::observed))
        .route("/api/v1/desired", get(estate::desired))
        .route("/api/v1/plan", get(estate::plan))
        .route("/api/v1/drift", get(estate::drift))
        .route("/api/v1/audit", get(audit::records))
        .route("/api/v1/audit/verify", get(audit::verify))
        .route("/api/v1/audit/head", get(audit::head))
        .route("/api/v1/sim/report", get(sim::report))
        .route("/api/v1/sim/events", get(sim::events))
        .route("/api/v1/sim/faults", post(sim::fault))
        .route("/api/v1/openapi.json", get(super::openapi::openapi_json))
        .fallback(not_found)
}

/// The endpoints that stream for as long as the client listens.
pub(super) fn streams() -> Router<Api> {
    Router::new().route("/api/v1/events", get(events::events))
}

/// A path no endpoint serves: the answer lists those that are.
async fn not_found(uri: axum::http::Uri) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        format!(
            "no endpoint {}: see / (the web UI), /api/v1/status, /api/v1/estate, /api/v1/desired, /api/v1/plan, /api/v1/drift, /api/v1/audit, /api/v1/audit/verify, /api/v1/events, POST /api/v1/sync, /api/v1/sim/..., /api/v1/openapi.json, /metrics, /healthz, /readyz",
            uri.path()
        ),
    )
}
