//! The bodies whose schemas `schemars` derives from the Rust types serialized: the model's
//! estate, the plan contract, the drift report's objects and the simulator's report. These are
//! other contracts' documents (`import`, `plan --format json`, `sim show --format json`), their
//! types deep in the model, so utoipa does not describe them: each is a placeholder component
//! in utoipa's document ([`super::body`]'s documents, [`crate::status::live::ObjectChangeDocument`],
//! and [`crate::status::live::ActionKindName`], the kind of an action in flight or finished),
//! replaced here by the schema schemars derives (JSON Schema 2020-12, the dialect of OpenAPI
//! 3.1, for the serialize contract), whose definitions join the document's components.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value};

/// Where schemars puts its definitions: beside utoipa's, so that its `$ref`s resolve in the
/// document.
const DEFINITIONS: &str = "/components/schemas";

/// A derived component of the OpenAPI document could not be added.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DerivedError {
    /// Schemars definitions have the names of components utoipa already made (other types
    /// with the same names): they would replace them. Rename one (`#[schemars(rename = ...)]`).
    #[error("schemars definitions have the names of other components of the OpenAPI document: {0}")]
    Clash(String),
    /// A derived document has no placeholder in utoipa's document: nothing refers to it.
    #[error("the derived document {0} is not a component of the OpenAPI document")]
    NoPlaceholder(String),
}

/// A component whose schema schemars derives: its name in the document and its Rust type's
/// schema.
struct Derived {
    name: &'static str,
    schema: fn(&mut SchemaGenerator) -> schemars::Schema,
}

fn derived<T: JsonSchema>(name: &'static str) -> Derived {
    Derived { name, schema: |g| g.subschema_for::<T>() }
}

/// The derived components: each replaces utoipa's placeholder of the same name.
fn documents() -> [Derived; 5] {
    [
        derived::<powerplane_model::ActionKind>("ActionKindName"),
        derived::<powerplane_model::Estate>("EstateDocument"),
        derived::<crate::render::PlanDocument<'static>>("PlanDocument"),
        derived::<powerplane_model::plan::ObjectChange>("ObjectChangeDocument"),
        derived::<crate::sim::Report>("SimReportDocument"),
    ]
}

/// The generator: JSON Schema 2020-12, definitions under `/components/schemas`, the schema of
/// what is serialized (an optional field that is skipped when empty is not required).
pub(crate) fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .with(|s| {
            s.definitions_path = DEFINITIONS.into();
            s.meta_schema = None;
        })
        .into_generator()
}

/// Replaces each derived document's placeholder in `doc` (the OpenAPI document as JSON) by its
/// schema and adds the definitions it refers to; refuses a definition that would replace a
/// component utoipa made.
pub(crate) fn install(doc: &mut Value) -> Result<(), DerivedError> {
    let mut generator = generator();
    let roots: Vec<(&str, Value)> =
        documents().iter().map(|d| (d.name, (d.schema)(&mut generator).to_value())).collect();
    let mut definitions = generator.take_definitions(true);
    let components = doc["components"]["schemas"].as_object_mut().expect("the document has schemas");
    for (name, mut root) in roots {
        let placeholder = components.get(name).ok_or_else(|| DerivedError::NoPlaceholder(name.to_owned()))?;
        let description = placeholder.get("description").cloned();
        // A document whose type has the document's own name is that definition itself.
        if root.get("$ref").and_then(Value::as_str) == Some(&format!("#{DEFINITIONS}/{name}"))
            && let Some(own) = definitions.remove(name)
        {
            root = own;
        }
        if let (Some(description), Some(o)) = (description, root.as_object_mut()) {
            o.entry("description").or_insert(description);
        }
        components.insert(name.to_owned(), root);
    }
    add(components, definitions)
}

/// Adds `definitions` to `components`, none of them replacing one.
fn add(components: &mut Map<String, Value>, definitions: Map<String, Value>) -> Result<(), DerivedError> {
    let clashes: Vec<&str> = definitions.keys().filter(|k| components.contains_key(*k)).map(String::as_str).collect();
    if !clashes.is_empty() {
        return Err(DerivedError::Clash(clashes.join(", ")));
    }
    components.extend(definitions);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_definition_never_replaces_a_component() {
        let mut components = json!({"Status": {"type": "object"}}).as_object().unwrap().clone();
        let definitions = json!({"Status": {"type": "string"}, "Estate": {}}).as_object().unwrap().clone();
        assert!(matches!(add(&mut components, definitions), Err(DerivedError::Clash(n)) if n == "Status"));
        assert_eq!(components["Status"], json!({"type": "object"}));
    }

    /// The shapes schemars writes (a flattened struct, an `Option` of a struct, a map, an
    /// internally tagged enum with unit, struct and newtype variants, a tuple) are closed by
    /// [`super::super::closed`]: a body admits no key its type does not name, at any depth.
    #[test]
    fn schemars_shapes_are_closed_by_the_document() {
        #[derive(serde::Serialize, schemars::JsonSchema)]
        struct Inner {
            a: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            b: Option<String>,
        }
        #[derive(serde::Serialize, schemars::JsonSchema)]
        #[serde(tag = "op", rename_all = "camelCase")]
        enum Tagged {
            Unit,
            Fields { x: u32 },
            Newtype(Inner),
        }
        #[derive(serde::Serialize, schemars::JsonSchema)]
        struct Outer {
            #[serde(flatten)]
            inner: Inner,
            maybe: Option<Inner>,
            map: std::collections::BTreeMap<String, Inner>,
            ops: Vec<Tagged>,
            pair: Option<(u32, String)>,
        }
        let mut g = generator();
        let root = g.subschema_for::<Outer>().to_value();
        let mut doc = json!({"components": {"schemas": g.take_definitions(true)}, "root": root});
        super::super::closed::close(&mut doc);
        let schema = json!({"allOf": [doc["root"]], "components": doc["components"]});
        let v = jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&schema).unwrap();
        let inner = || Inner { a: 1, b: None };
        let body = serde_json::to_value(Outer {
            inner: inner(),
            maybe: Some(inner()),
            map: [("k".to_owned(), inner())].into(),
            ops: vec![Tagged::Unit, Tagged::Fields { x: 2 }, Tagged::Newtype(inner())],
            pair: Some((3, "three".into())),
        })
        .unwrap();
        assert!(v.is_valid(&body), "{body:#}\n{:#}", doc);
        let mut map_grown = body.clone();
        map_grown["map"]["other"] = json!({"a": 2});
        assert!(v.is_valid(&map_grown), "a map admits any key");
        for pointer in ["", "/maybe", "/map/k", "/ops/0", "/ops/1", "/ops/2"] {
            let mut grown = body.clone();
            grown.pointer_mut(pointer).unwrap().as_object_mut().unwrap().insert("unexpected".into(), json!(1));
            assert!(!v.is_valid(&grown), "a key added at {pointer:?} is admitted");
        }
    }

    /// An action's kind is declared as the enum of [`powerplane_model::ActionKind`]'s names.
    #[test]
    fn an_action_kind_is_one_of_the_kinds() {
        use crate::status::live::{ActionOutcome, InFlight, LiveEvent};
        let doc: Value = serde_json::from_str(&super::super::openapi::json()).unwrap();
        let schema = json!({"$ref": "#/components/schemas/LiveEvent", "components": doc["components"]});
        let v = jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&schema).unwrap();
        let kind = powerplane_model::ActionKind::MigratePartition;
        let started = LiveEvent::ActionStarted(InFlight {
            id: "a1".into(),
            kind,
            object: "Partition/p".into(),
            command: "migrlpar".into(),
            since: "2026-12-07T00:00:00Z".into(),
        });
        let finished = LiveEvent::ActionFinished {
            id: "a1".into(),
            kind,
            object: "Partition/p".into(),
            outcome: ActionOutcome::Succeeded,
            detail: String::new(),
        };
        for e in [started, finished] {
            let mut e = serde_json::to_value(e).unwrap();
            assert!(v.is_valid(&e), "{e:#}");
            e["kind"] = json!("NoSuchKind");
            assert!(!v.is_valid(&e), "{e:#}");
        }
    }

    #[test]
    fn the_documents_replace_their_placeholders_and_every_reference_resolves() {
        let mut doc = serde_json::to_value(<super::super::openapi::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
        let before: Vec<String> = doc["components"]["schemas"].as_object().unwrap().keys().cloned().collect();
        install(&mut doc).unwrap();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in ["EstateDocument", "PlanDocument", "ObjectChangeDocument", "SimReportDocument", "ActionKindName"] {
            let s = &schemas[name];
            assert!(s.get("properties").or(s.get("$ref")).is_some(), "{name} is still a free-form object: {s:#}");
        }
        assert!(before.iter().all(|n| schemas.contains_key(n)));
        for name in schemas.keys() {
            // OpenAPI's pattern for a component's name; no generated `Metadata2` either.
            let ok = name.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c));
            assert!(ok && !name.ends_with(|c: char| c.is_ascii_digit()), "{name}: not a stable component name");
        }
        let text = doc.to_string();
        for r in text.split("\"$ref\":\"").skip(1) {
            let r = &r[..r.find('"').unwrap()];
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{r} points elsewhere"));
            assert!(schemas.contains_key(name), "{r} resolves to nothing");
        }
    }
}
