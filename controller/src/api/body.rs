//! The JSON bodies the API serves, one type each, whose schemas the OpenAPI document derives
//! ([`super::openapi`]); the error body is [`super::problem::Problem`], the status and the
//! event stream's events are [`crate::status::live`]'s, the audit verdict is
//! [`crate::app::verdict::AuditVerdict`].

use std::marker::PhantomData;

use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema};
use utoipa::openapi::{RefOr, Type};

use crate::status::live::Document;
use crate::store::audit::{Damage, Head, Record};
use crate::store::snapshot::Meta;

/// `POST /api/v1/sync` was accepted.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Accepted {
    /// When the reconcile starts.
    pub accepted: &'static str,
}

/// `GET /api/v1/estate`: the observed estate, with the stored snapshot's metadata (absent for
/// `?refresh=true`, which is not stored). Served from the bytes the loop stored
/// ([`crate::status::Live::set_observed`]) or serialized from a fresh observation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Observed {
    /// When and how it was observed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub meta: Option<Meta>,
    /// The estate: every object as `powerplane import` and `plan` see it.
    #[schema(value_type = EstateDocument)]
    pub estate: powerplane_model::Estate,
}

/// A page of the audit trail (`GET /api/v1/audit`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AuditPage {
    /// Where the trail is damaged.
    pub damage: Vec<Damage>,
    /// No damage anywhere in the trail.
    pub intact: bool,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<u64>,
    /// The records, oldest first (as `audit --json` prints them).
    pub records: Vec<Record>,
}

/// The trail's head (`GET /api/v1/audit/head`, `audit head --json`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditHead {
    /// The head record.
    pub head: Head,
    /// No damage under it.
    pub intact: bool,
    /// `SEQ:HASH`, to witness elsewhere.
    pub witness: String,
}

/// What a fault did, as `powerplane sim ...` prints it (`POST /api/v1/sim/faults`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultLines {
    /// The lines.
    pub lines: Vec<String>,
}

/// The data of a `lagged` event on `GET /api/v1/events`: the client fell behind and missed
/// events.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Lagged {
    /// How many events it missed.
    pub missed: u64,
}

/// A document the loop published as JSON bytes (made once when it changed, so that a request
/// never serializes a 25k-partition estate), typed by the schema `T` it is served as.
pub(crate) struct Published<T> {
    doc: Document,
    schema: PhantomData<T>,
}

impl<T: ToSchema> Published<T> {
    /// `doc`, which is `T` serialized.
    pub(crate) fn new(doc: Document) -> Published<T> {
        Published { doc, schema: PhantomData }
    }
}

impl<T> IntoResponse for Published<T> {
    fn into_response(self) -> Response {
        ([(axum::http::header::CONTENT_TYPE, "application/json")], self.doc).into_response()
    }
}

/// A document whose shape is another contract's, its schema derived by schemars from the Rust
/// type serialized ([`super::derived`] replaces this placeholder by it).
macro_rules! derived_document {
    ($(#[doc = $doc:literal])* $name:ident) => {
        $(#[doc = $doc])*
        pub(crate) struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let description = [$($doc),*].join("\n");
                ObjectBuilder::new().schema_type(Type::Object).description(Some(description.trim())).into()
            }
        }

        impl ToSchema for $name {}
    };
}

derived_document! {
    /// An estate as `powerplane import` writes it and the planner reads it (the model's
    /// `Estate`: frames, their partitions, VIOS, pools, storage).
    EstateDocument
}

derived_document! {
    /// The current plan: the JSON plan contract of `plan --format json`, with `scope`
    /// (`estate` for a plan of the whole estate, `change` for one of a change's objects).
    PlanDocument
}

derived_document! {
    /// The simulated estate, as `sim show --format json` prints it.
    SimReportDocument
}
