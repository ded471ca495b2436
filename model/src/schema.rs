//! The JSON Schema of manifests, for editors (`# yaml-language-server: $schema=...`) and CI
//! linters. Generated from the same types the loader parses, so it cannot drift from them.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::manifest::{
    FrameHardwareSpec, FrameSpec, Kind, Metadata, PartitionSpec, SeaSpec, SharedMemoryPoolSpec,
    SharedProcessorPoolSpec, ViosPairSpec,
};
use crate::names::{FrameName, MemPoolName, PartitionName, ProcPoolObjectName, SeaName, ViosPairName};

/// The schema of one document of any of `kinds` (a `oneOf` over the kinds).
pub fn json_schema(kinds: &[Kind]) -> Schema {
    let mut generator = SchemaGenerator::default();
    let docs: Vec<Schema> = kinds
        .iter()
        .map(|k| match k {
            Kind::Frame => document::<FrameName, FrameSpec>(&mut generator, *k, false),
            Kind::SharedProcessorPool => {
                document::<ProcPoolObjectName, SharedProcessorPoolSpec>(&mut generator, *k, true)
            }
            Kind::SharedMemoryPool => document::<MemPoolName, SharedMemoryPoolSpec>(&mut generator, *k, true),
            Kind::ViosPair => document::<ViosPairName, ViosPairSpec>(&mut generator, *k, true),
            Kind::SharedEthernetAdapter => document::<SeaName, SeaSpec>(&mut generator, *k, true),
            Kind::Partition => document::<PartitionName, PartitionSpec>(&mut generator, *k, true),
            Kind::FrameHardware => document::<FrameName, FrameHardwareSpec>(&mut generator, *k, true),
            Kind::Cluster => {
                document::<crate::names::ClusterName, crate::manifest::ClusterSpec>(&mut generator, *k, true)
            }
            Kind::Settings => {
                document::<crate::names::SettingsName, crate::manifest::SettingsSpec>(&mut generator, *k, false)
            }
        })
        .collect();
    let defs = generator.take_definitions(true);
    json_schema!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://powerplane.dev/schema/v1/manifest.json",
        "title": "powerplane manifest",
        "description": "One document of a powerplane desired-state repository (apiVersion powerplane/v1).",
        "oneOf": docs,
        "$defs": defs,
    })
}

fn document<N: JsonSchema, S: JsonSchema>(generator: &mut SchemaGenerator, kind: Kind, spec_required: bool) -> Schema {
    let metadata = generator.subschema_for::<Metadata<N>>();
    let spec = generator.subschema_for::<S>();
    let mut required = vec!["apiVersion", "kind", "metadata"];
    if spec_required {
        required.push("spec");
    }
    json_schema!({
        "title": kind.as_str(),
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": {
            "apiVersion": {"const": crate::manifest::API_VERSION},
            "kind": {"const": kind.as_str()},
            "metadata": metadata,
            "spec": spec,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_every_kind_and_field() {
        let s = serde_yaml::to_string(&json_schema(&Kind::MANIFEST)).unwrap();
        for needle in ["Partition", "SharedEthernetAdapter", "desiredMB", "pagingVios", "haMode", "anyOf"] {
            assert!(s.contains(needle), "schema lacks {needle}");
        }
        assert!(!s.contains("FrameHardware"));
        assert!(serde_yaml::to_string(&json_schema(&Kind::ALL)).unwrap().contains("FrameHardware"));
    }
}
