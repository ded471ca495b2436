//! Closes the OpenAPI document's object schemas: an object whose keys are fixed (it lists
//! `properties`) admits no other key (`additionalProperties: false`), so that a served body
//! that grew or renamed a field breaks its schema instead of passing unnoticed. utoipa writes
//! `additionalProperties: false` only for `#[serde(deny_unknown_fields)]` types, which would
//! also make the CLI refuse a newer controller's answers; this closes the document instead.
//!
//! An `allOf` of object schemas (what utoipa writes for `#[serde(flatten)]` and for an
//! internally tagged enum's newtype variant) is merged into one object first: JSON Schema
//! applies each part of an `allOf` on its own, so closed parts would refuse each other's keys.
//! So is a `$ref` beside properties of its own (what schemars writes for that variant).

use serde_json::{Map, Value};

/// Closes every object schema in `doc` (an OpenAPI 3.1 document as JSON).
pub(crate) fn close(doc: &mut Value) {
    let components = doc["components"]["schemas"].as_object().cloned().unwrap_or_default();
    walk(doc, &components);
}

fn walk(v: &mut Value, components: &Map<String, Value>) {
    match v {
        Value::Object(o) => {
            if let Some(merged) = o.get("allOf").and_then(|parts| merge(parts, components)) {
                o.remove("allOf");
                o.extend(merged);
            }
            // A reference beside keys of its own (schemars' newtype variant of an internally
            // tagged enum: the struct's `$ref` and the tag's property) is an `allOf` of both.
            if o.contains_key("properties")
                && let Some(r) = o.get("$ref").cloned()
            {
                let own = serde_json::json!({"properties": o["properties"], "required": o.get("required").cloned().unwrap_or_default()});
                if let Some(merged) = merge(&serde_json::json!([{"$ref": r}, own]), components) {
                    o.remove("$ref");
                    o.extend(merged);
                }
            }
            if o.contains_key("properties") && !o.contains_key("additionalProperties") {
                o.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (key, x) in o.iter_mut() {
                match (key.as_str(), x) {
                    // A map of field names to schemas: its keys are not schema keywords.
                    ("properties", Value::Object(fields)) => fields.values_mut().for_each(|f| walk(f, components)),
                    (_, x) => walk(x, components),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| walk(x, components)),
        _ => {}
    }
}

/// The object that `parts` (an `allOf`) describe together, when each part is an object schema
/// or a reference to one; `None` otherwise (the `allOf` is left as it is).
fn merge(parts: &Value, components: &Map<String, Value>) -> Option<Map<String, Value>> {
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    for part in parts.as_array()? {
        // A flattened `Option` (`oneOf: [null, X]`): X's keys, none of them required.
        if let Some([null, x]) = part.get("oneOf").and_then(Value::as_array).map(Vec::as_slice)
            && null == &serde_json::json!({"type": "null"})
        {
            let m = merge(&Value::Array(vec![x.clone()]), components)?;
            properties.extend(m.get("properties")?.as_object()?.clone());
            continue;
        }
        let part = match part.get("$ref").and_then(Value::as_str) {
            Some(r) => components.get(r.strip_prefix("#/components/schemas/")?)?,
            None => part,
        };
        if let Some(inner) = part.get("allOf") {
            let m = merge(inner, components)?;
            properties.extend(m.get("properties")?.as_object()?.clone());
            required.extend(m.get("required").and_then(Value::as_array).cloned().unwrap_or_default());
            continue;
        }
        let own = part.get("properties")?.as_object()?;
        properties.extend(own.clone());
        required.extend(part.get("required").and_then(Value::as_array).cloned().unwrap_or_default());
    }
    let mut merged = Map::new();
    merged.insert("type".into(), Value::from("object"));
    merged.insert("properties".into(), Value::Object(properties));
    let mut seen = std::collections::BTreeSet::new();
    required.retain(|r| seen.insert(r.to_string()));
    if !required.is_empty() {
        merged.insert("required".into(), Value::Array(required));
    }
    merged.insert("additionalProperties".into(), Value::Bool(false));
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_with_fixed_keys_is_closed_and_a_map_stays_open() {
        let mut doc = json!({"components": {"schemas": {
            "A": {"type": "object", "properties": {"a": {"type": "string"}}},
            "M": {"type": "object", "additionalProperties": {"type": "string"}},
            "F": {"type": "object"},
        }}});
        close(&mut doc);
        let s = &doc["components"]["schemas"];
        assert_eq!(s["A"]["additionalProperties"], false);
        assert_eq!(s["M"]["additionalProperties"], json!({"type": "string"}));
        assert_eq!(s["F"].get("additionalProperties"), None, "a free-form object stays free");
    }

    #[test]
    fn an_all_of_of_objects_becomes_one_closed_object() {
        let mut doc = json!({"components": {"schemas": {
            "Inner": {"type": "object", "properties": {"a": {}}, "required": ["a"]},
            "Tagged": {"oneOf": [{"allOf": [
                {"$ref": "#/components/schemas/Inner"},
                {"type": "object", "properties": {"type": {"enum": ["inner"]}}, "required": ["type"]},
            ]}]},
            "Other": {"allOf": [{"type": "string"}]},
            "Flat": {"allOf": [
                {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Inner"}]},
                {"type": "object", "properties": {"b": {}}, "required": ["b"]},
            ]},
        }}});
        close(&mut doc);
        let s = &doc["components"]["schemas"];
        assert_eq!(
            s["Tagged"]["oneOf"][0],
            json!({"type": "object", "properties": {"a": {}, "type": {"enum": ["inner"]}}, "required": ["a", "type"], "additionalProperties": false})
        );
        assert_eq!(s["Inner"]["additionalProperties"], false, "the part stays closed on its own");
        assert_eq!(s["Other"], json!({"allOf": [{"type": "string"}]}), "not objects: left alone");
        assert_eq!(
            s["Flat"],
            json!({"type": "object", "properties": {"a": {}, "b": {}}, "required": ["b"], "additionalProperties": false}),
            "a flattened Option's keys are optional"
        );
    }
}
