//! The simulator behind a running `watch`: what `sim show` and `sim events` print, and the
//! faults `sim ...` injects (the loop sees them as it would a change made on the HMC).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::api::Api;
use crate::api::body::{FaultLines, SimReportDocument};
use crate::api::problem::Problem;
use crate::sim::{Fault, Simulator};

/// The simulator, or the 404 that says this controller drives HMCs.
fn simulator(api: &Api) -> Result<&Simulator, Problem> {
    api.backend.simulator().ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "this controller runs against HMCs, not the simulator: there is no simulated estate",
        )
    })
}

/// The whole simulated estate (`sim show --format json`).
#[utoipa::path(get, path = "/api/v1/sim/report", tag = "simulator", responses((status = 200, description = "The simulated estate, as `sim show --format json`", body = SimReportDocument), (status = 404, description = "The controller drives HMCs", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn report(State(api): State<Api>) -> Result<Json<crate::sim::Report>, Problem> {
    Ok(Json(simulator(&api)?.report().await))
}

/// The query of `GET /api/v1/sim/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Only the entries after this number.
    since: Option<u64>,
}

/// The error-log entries kept (`sim events --format json`).
#[utoipa::path(get, path = "/api/v1/sim/events", tag = "simulator", params(EventsQuery), responses((status = 200, description = "The error-log entries kept, as `sim events --format json`", body = Vec<crate::sim::SimEvent>), (status = 404, description = "The controller drives HMCs", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn events(
    State(api): State<Api>,
    Query(q): Query<EventsQuery>,
) -> Result<Json<Vec<crate::sim::SimEvent>>, Problem> {
    let report = simulator(&api)?.report().await;
    Ok(Json(report.events.into_iter().filter(|e| q.since.is_none_or(|n| e.seq > n)).collect()))
}

/// Injects a fault: `{"lines": [...]}` as `sim ...` prints them, or 409 with the refusal.
#[utoipa::path(post, path = "/api/v1/sim/faults", tag = "simulator", request_body = crate::sim::Fault, security(("token" = [])), responses((status = 200, description = "The fault was injected", body = FaultLines), (status = 400, description = "Not a fault", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No or a wrong bearer token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "The read-only token: a mutation needs the operator token", body = Problem, content_type = "application/problem+json"), (status = 409, description = "The simulator refused it", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn fault(
    State(api): State<Api>,
    body: Result<Json<Fault>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<FaultLines>, Problem> {
    let sim = simulator(&api)?;
    let Json(fault) = body.map_err(|e| Problem::new(StatusCode::BAD_REQUEST, format!("not a fault: {e}")))?;
    tracing::info!(?fault, "fault injected through the API");
    match fault.inject(sim).await {
        Ok(lines) => Ok(Json(FaultLines { lines })),
        Err(e) => Err(Problem::new(StatusCode::CONFLICT, e.to_string())),
    }
}
