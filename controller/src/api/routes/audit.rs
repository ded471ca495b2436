//! The audit trail, read from its files as `powerplane audit` reads them: the records (paged),
//! the verdict of `audit verify`, the head.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use std::path::PathBuf;

use crate::api::Api;
use crate::api::body::{AuditHead, AuditPage};
use crate::api::problem::Problem;
use crate::app::verdict::AuditVerdict;
use crate::store::audit::{Event, Item, Keep, Scan};

/// Records per page when no `limit` is given, and at most.
const PAGE: usize = 500;
const MAX_PAGE: usize = 10_000;

/// The query of `GET /api/v1/audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Only records from this time on: RFC 3339 or a duration back from now (`30m`).
    since: Option<String>,
    /// Records per page (default 500, at most 10,000).
    limit: Option<usize>,
    /// The `nextCursor` of the previous page: records after this seq.
    cursor: Option<u64>,
    /// Only records about this object (`Partition/bxaix85`).
    object: Option<String>,
    /// Only records of this plan.
    plan: Option<String>,
}

/// The trail in `dir` as `keep` needs it, read off the async workers.
async fn scan(dir: PathBuf, keep: Keep) -> Result<Scan, Problem> {
    tokio::task::spawn_blocking(move || crate::store::audit::read_state_dir(&dir, None, keep))
        .await
        .map_err(Problem::internal)?
        .map_err(Problem::internal)
}

/// A page of the trail's records (checkpoints left out), filtered by the query.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, description = "A page of records", body = AuditPage), (status = 400, description = "A malformed since", body = Problem, content_type = "application/problem+json"), (status = 500, description = "The trail could not be read", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn records(State(api): State<Api>, Query(q): Query<AuditQuery>) -> Result<Json<AuditPage>, Problem> {
    let since = q.since.as_deref().map(crate::time::since).transpose().map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, format!("since={}: {e}", q.since.as_deref().unwrap_or_default()))
    })?;
    let limit = q.limit.unwrap_or(PAGE).clamp(1, MAX_PAGE);
    let scan = scan(api.state_dir.clone(), Keep::Records).await?;
    let intact = scan.intact();
    let mut records = Vec::new();
    let mut next_cursor = None;
    for item in scan.items {
        let Item::Record(_, r) = item else { continue };
        if r.event == Event::Checkpoint
            || q.cursor.is_some_and(|c| r.seq <= c)
            || since.as_ref().is_some_and(|s| r.time.as_str() < s.as_str())
            || q.object.as_ref().is_some_and(|o| r.draft.object != *o)
            || q.plan.as_ref().is_some_and(|p| r.draft.plan_id != *p)
        {
            continue;
        }
        if records.len() == limit {
            next_cursor = records.last().map(|r: &crate::store::audit::Record| r.seq);
            break;
        }
        records.push(*r);
    }
    Ok(Json(AuditPage { damage: scan.damage, intact, next_cursor, records }))
}

/// The verdict of `audit verify --json`.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, description = "The verdict of `audit verify --json`", body = AuditVerdict), (status = 500, description = "The trail could not be read", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn verify(State(api): State<Api>) -> Result<Json<AuditVerdict>, Problem> {
    served_verdict(api.state_dir.clone()).await
}

/// The verdict on the trail in `dir`, as `GET /api/v1/audit/verify` serves it.
async fn served_verdict(dir: PathBuf) -> Result<Json<AuditVerdict>, Problem> {
    let verdict = tokio::task::spawn_blocking(move || AuditVerdict::read(&dir))
        .await
        .map_err(Problem::internal)?
        .map_err(Problem::internal)?;
    Ok(Json(verdict))
}

/// The head, as `audit head --json`.
#[utoipa::path(get, path = "/api/v1/audit/head", tag = "audit", responses((status = 200, description = "The head", body = AuditHead), (status = 404, description = "No HEAD yet", body = Problem, content_type = "application/problem+json"), (status = 500, description = "The trail could not be read", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn head(State(api): State<Api>) -> Result<Json<AuditHead>, Problem> {
    let scan = scan(api.state_dir.clone(), Keep::Verdict).await?;
    let intact = scan.intact();
    let head = scan.head.ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, "the trail has no HEAD yet"))?;
    Ok(Json(AuditHead { witness: head.witness(), head, intact }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StateDir;
    use crate::store::audit::{AuditLog, Draft, Signer, keygen};

    /// The served verdict of a signed trail (a head, keys) is admitted by its schema in the
    /// OpenAPI document, which admits no field it does not name: a verdict that grew a field
    /// the document lacks (or lost one it requires) fails here.
    #[tokio::test]
    async fn the_served_verdict_is_its_openapi_schema() {
        let d = tempfile::tempdir().unwrap();
        let key = d.path().join("key");
        keygen(&key).unwrap();
        let state = d.path().join("state");
        let dir = StateDir::open(&state).unwrap();
        let log = AuditLog::open_signed(&dir, Some(Signer::load(&key).unwrap())).unwrap();
        let draft = Draft { kind: "Drift".into(), object: "Partition/lpar1".into(), ..Default::default() };
        log.append(vec![(Event::Skip, draft)]).unwrap();
        log.sync_head().unwrap();
        drop(log);

        let served = axum::response::IntoResponse::into_response(served_verdict(state.clone()).await);
        assert_eq!(served.status(), StatusCode::OK);
        let body = axum::body::to_bytes(served.into_body(), usize::MAX).await.unwrap();
        let instance: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(
            instance["head"].is_object() && instance["keys"].as_array().is_some_and(|k| k.len() == 1),
            "{instance:#}"
        );

        let doc: serde_json::Value = serde_json::from_str(&crate::api::openapi::json()).unwrap();
        let schema = &doc["components"]["schemas"]["AuditVerdict"];
        assert_eq!(schema["additionalProperties"], false, "the schema must name every field: {schema:#}");
        let root = serde_json::json!({ "$ref": "#/components/schemas/AuditVerdict", "components": doc["components"] });
        let validator = jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&root).unwrap();
        let errors: Vec<String> =
            validator.iter_errors(&instance).map(|e| format!("{e} at {}", e.instance_path)).collect();
        assert!(errors.is_empty(), "the served verdict breaks its schema:\n{}\n{instance:#}", errors.join("\n"));
        // And a body with a field the type does not have is refused: the check can fail.
        let mut grown = instance.clone();
        grown["extra"] = serde_json::json!(1);
        assert!(!validator.is_valid(&grown));
    }
}
