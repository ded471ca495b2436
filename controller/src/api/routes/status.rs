//! `GET /api/v1/status` and `POST /api/v1/sync`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::api::Api;
use crate::api::body::Accepted;
use crate::status::live::Status;

/// What the loop is doing and what it last did.
#[utoipa::path(get, path = "/api/v1/status", tag = "controller", responses((status = 200, description = "What the loop is doing and what it last did", body = Status)))]
pub(crate) async fn status(State(api): State<Api>) -> Json<Status> {
    Json(api.live.status())
}

/// Reconcile now (as a file event or a resync would); answered at once.
#[utoipa::path(post, path = "/api/v1/sync", tag = "controller", security(("token" = [])), responses((status = 202, description = "A reconcile starts now, or after the running one", body = Accepted), (status = 401, description = "No or a wrong bearer token", body = crate::api::problem::Problem, content_type = "application/problem+json"), (status = 403, description = "The read-only token: a mutation needs the operator token", body = crate::api::problem::Problem, content_type = "application/problem+json")))]
pub(crate) async fn sync(State(api): State<Api>) -> (StatusCode, Json<Accepted>) {
    api.live.request_sync();
    (StatusCode::ACCEPTED, Json(Accepted { accepted: "a reconcile starts now, or after the running one" }))
}
