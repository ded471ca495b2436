//! The documents the loop publishes: the observed estate (or a fresh observation on request),
//! the desired state, the current plan and drift.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{document, problem};
use crate::api::Api;
use crate::backend::Hypervisor;
use crate::status::live::Document;

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

fn published(doc: Option<Document>, what: &str) -> Response {
    match doc {
        Some(d) => document(d),
        None => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("no {what} yet: the controller has not finished its first reconcile; retry in a moment"),
        ),
    }
}

/// `{"meta": …, "estate": …}`: the last observation as stored, or a fresh one.
#[utoipa::path(get, path = "/api/v1/estate", tag = "controller", params(EstateQuery), security((), ("token" = [])), responses((status = 200, description = "The last observation, or a fresh one with refresh=true", body = crate::api::openapi::Observed), (status = 401, description = "refresh=true without a token (the read-only token or the operator's)", body = crate::api::openapi::Problem, content_type = "application/problem+json"), (status = 503, description = "No observation yet", body = crate::api::openapi::Problem, content_type = "application/problem+json"), (status = 502, description = "Observing the backend failed", body = crate::api::openapi::Problem, content_type = "application/problem+json")))]
pub(crate) async fn observed(State(api): State<Api>, Query(q): Query<EstateQuery>) -> Response {
    if !q.refresh {
        return published(api.live.observed(), "observation");
    }
    match api.backend.observe().await {
        Ok(estate) => {
            // Serialized straight to bytes: a 25k-partition estate is not built as a JSON tree.
            #[derive(serde::Serialize)]
            struct Fresh {
                estate: powerplane_model::Estate,
            }
            let doc = tokio::task::spawn_blocking(move || serde_json::to_vec(&Fresh { estate }))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            match doc {
                Ok(d) => document(d.into()),
                Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, &e),
            }
        }
        Err(e) => problem(StatusCode::BAD_GATEWAY, &format!("observing the backend failed: {e}")),
    }
}

/// The desired state.
#[utoipa::path(get, path = "/api/v1/desired", tag = "controller", responses((status = 200, description = "The desired estate the loop reconciles to", body = Object), (status = 503, description = "No valid desired state yet", body = crate::api::openapi::Problem, content_type = "application/problem+json")))]
pub(crate) async fn desired(State(api): State<Api>) -> Response {
    published(api.live.desired(), "valid desired state")
}

/// The current plan (the JSON plan contract of `plan --format json`).
#[utoipa::path(get, path = "/api/v1/plan", tag = "controller", responses((status = 200, description = "The current plan: the JSON plan contract of `plan --format json`", body = Object), (status = 503, description = "No plan yet", body = crate::api::openapi::Problem, content_type = "application/problem+json")))]
pub(crate) async fn plan(State(api): State<Api>) -> Response {
    published(api.live.plan(), "plan")
}

/// The current drift.
#[utoipa::path(get, path = "/api/v1/drift", tag = "controller", responses((status = 200, description = "The current drift report", body = Object), (status = 503, description = "No drift report yet", body = crate::api::openapi::Problem, content_type = "application/problem+json")))]
pub(crate) async fn drift(State(api): State<Api>) -> Response {
    published(api.live.drift(), "drift report")
}
