//! The simulator behind a running `watch`: what `sim show` and `sim events` print, and the
//! faults `sim ...` injects (the loop sees them as it would a change made on the HMC).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::problem;
use crate::api::Api;
use crate::sim::{Fault, Simulator};

/// The simulator, or the 404 that says this controller drives HMCs.
fn simulator(api: &Api) -> Result<&Simulator, Box<Response>> {
    api.backend.simulator().ok_or_else(|| {
        Box::new(problem(
            StatusCode::NOT_FOUND,
            "this controller runs against HMCs, not the simulator: there is no simulated estate",
        ))
    })
}

/// The whole simulated estate (`sim show --format json`).
#[utoipa::path(get, path = "/api/v1/sim/report", tag = "simulator", responses((status = 200, description = "The simulated estate, as `sim show --format json`", body = Object), (status = 404, description = "The controller drives HMCs", body = crate::api::openapi::Problem, content_type = "application/problem+json")))]
pub(crate) async fn report(State(api): State<Api>) -> Response {
    match simulator(&api) {
        Ok(sim) => Json(sim.report().await).into_response(),
        Err(r) => *r,
    }
}

/// The query of `GET /api/v1/sim/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Only the entries after this number.
    since: Option<u64>,
}

/// The error-log entries kept (`sim events --format json`).
#[utoipa::path(get, path = "/api/v1/sim/events", tag = "simulator", params(EventsQuery), responses((status = 200, description = "The error-log entries kept, as `sim events --format json`", body = Vec<Object>), (status = 404, description = "The controller drives HMCs", body = crate::api::openapi::Problem, content_type = "application/problem+json")))]
pub(crate) async fn events(State(api): State<Api>, Query(q): Query<EventsQuery>) -> Response {
    match simulator(&api) {
        Ok(sim) => {
            let report = sim.report().await;
            let events: Vec<_> = report.events.into_iter().filter(|e| q.since.is_none_or(|n| e.seq > n)).collect();
            Json(events).into_response()
        }
        Err(r) => *r,
    }
}

/// Injects a fault: `{"lines": [...]}` as `sim ...` prints them, or 409 with the refusal.
#[utoipa::path(post, path = "/api/v1/sim/faults", tag = "simulator", request_body = crate::sim::Fault, security(("token" = [])), responses((status = 200, description = "The fault was injected", body = crate::api::openapi::FaultLines), (status = 400, description = "Not a fault", body = crate::api::openapi::Problem, content_type = "application/problem+json"), (status = 401, description = "No or a wrong bearer token", body = crate::api::openapi::Problem, content_type = "application/problem+json"), (status = 403, description = "The read-only token: a mutation needs the operator token", body = crate::api::openapi::Problem, content_type = "application/problem+json"), (status = 409, description = "The simulator refused it", body = crate::api::openapi::Problem, content_type = "application/problem+json")))]
pub(crate) async fn fault(
    State(api): State<Api>,
    body: Result<Json<Fault>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let sim = match simulator(&api) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Json(fault) = match body {
        Ok(f) => f,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &format!("not a fault: {e}")),
    };
    tracing::info!(?fault, "fault injected through the API");
    match fault.inject(sim).await {
        Ok(lines) => Json(serde_json::json!({ "lines": lines })).into_response(),
        Err(e) => problem(StatusCode::CONFLICT, &e.to_string()),
    }
}
