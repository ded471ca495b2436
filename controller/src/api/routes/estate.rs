//! The documents the loop publishes: the observed estate (or a fresh observation on request),
//! the desired state, the current plan and drift.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::Api;
use crate::api::body::{EstateDocument, Observed, PlanDocument, Published};
use crate::api::problem::Problem;
use crate::backend::Hypervisor;
use crate::status::live::{Document, DriftReport};

/// The query of `GET /api/v1/estate`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EstateQuery {
    /// Observe the backend now instead of returning the last observation (not stored: what
    /// `drift` compares with the stored one).
    #[serde(default)]
    refresh: bool,
}

/// Whether a request makes the backend observe (`GET /api/v1/estate?refresh=true`): it needs a
/// token even on loopback, since an observation costs the HMC work.
pub(crate) fn observes(uri: &axum::http::Uri) -> bool {
    uri.path() == "/api/v1/estate"
        && Query::<EstateQuery>::try_from_uri(uri)
            .map_or_else(|_| uri.query().is_some_and(|q| q.contains("refresh")), |q| q.refresh)
}

/// The document the loop published, served as `T`, or the 503 that says there is none yet.
fn published<T: ToSchema>(doc: Option<Document>, what: &str) -> Result<Published<T>, Problem> {
    doc.map(Published::new).ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no {what} yet: the controller has not finished its first reconcile; retry in a moment"),
        )
    })
}

/// `{"meta": …, "estate": …}`: the last observation as stored, or a fresh one.
#[utoipa::path(get, path = "/api/v1/estate", tag = "controller", params(EstateQuery), security((), ("token" = [])), responses((status = 200, description = "The last observation, or a fresh one with refresh=true", body = Observed), (status = 401, description = "refresh=true without a token (the read-only token or the operator's)", body = Problem, content_type = "application/problem+json"), (status = 503, description = "No observation yet", body = Problem, content_type = "application/problem+json"), (status = 502, description = "Observing the backend failed", body = Problem, content_type = "application/problem+json"), (status = 500, description = "The fresh observation could not be served", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn observed(
    State(api): State<Api>,
    Query(q): Query<EstateQuery>,
) -> Result<Published<Observed>, Problem> {
    if !q.refresh {
        return published(api.live.observed(), "observation");
    }
    let estate = api
        .backend
        .observe()
        .await
        .map_err(|e| Problem::new(StatusCode::BAD_GATEWAY, format!("observing the backend failed: {e}")))?;
    // Serialized straight to bytes, off the workers: a 25k-partition estate is not built as a
    // JSON tree.
    let doc = tokio::task::spawn_blocking(move || serde_json::to_vec(&Observed { meta: None, estate }))
        .await
        .map_err(Problem::internal)?
        .map_err(Problem::internal)?;
    Ok(Published::new(doc.into()))
}

/// The desired state.
#[utoipa::path(get, path = "/api/v1/desired", tag = "controller", responses((status = 200, description = "The desired estate the loop reconciles to", body = EstateDocument), (status = 503, description = "No valid desired state yet", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn desired(State(api): State<Api>) -> Result<Published<EstateDocument>, Problem> {
    published(api.live.desired(), "valid desired state")
}

/// The current plan (the JSON plan contract of `plan --format json`).
#[utoipa::path(get, path = "/api/v1/plan", tag = "controller", responses((status = 200, description = "The current plan: the JSON plan contract of `plan --format json`", body = PlanDocument), (status = 503, description = "No plan yet", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn plan(State(api): State<Api>) -> Result<Published<PlanDocument>, Problem> {
    published(api.live.plan(), "plan")
}

/// The current drift.
#[utoipa::path(get, path = "/api/v1/drift", tag = "controller", responses((status = 200, description = "The current drift report", body = DriftReport), (status = 503, description = "No drift report yet", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn drift(State(api): State<Api>) -> Result<Published<DriftReport<'static>>, Problem> {
    published(api.live.drift(), "drift report")
}
