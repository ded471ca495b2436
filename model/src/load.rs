//! From manifest bytes to an [`Estate`]: split files into documents, read each document's
//! kind, parse it into its typed spec, and index it. Every failing document is reported, each
//! with `file:line:column`; one bad document never hides another.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, Invalid, ObjectRef, Rule};
use crate::estate::{Estate, Object};
use crate::manifest::{Document, Kind};
use crate::source::{DocSpan, LoadedText, Location, Origin, SourceFile, split_documents};
use crate::yaml;

pub use files::{Changed, ManifestSet};

/// Loads desired-state manifests: the six manifest kinds of DESIGN §2.
pub fn load_manifests(sources: &[SourceFile]) -> Result<Estate, Invalid> {
    load(sources, &Kind::MANIFEST, 1)
}

/// Loads an inventory: `FrameHardware` documents plus any manifest kinds (brownfield).
pub fn load_inventory(sources: &[SourceFile]) -> Result<Estate, Invalid> {
    load(sources, &Kind::ALL, 1)
}

/// Loads `sources`, accepting only documents of the `allowed` kinds, parsing documents on up
/// to `threads` threads. The result (objects and findings, in order) does not depend on the
/// number of threads.
pub fn load(sources: &[SourceFile], allowed: &[Kind], threads: usize) -> Result<Estate, Invalid> {
    let mut diags = Vec::new();
    let mut docs: Vec<(Arc<LoadedText>, DocSpan)> = Vec::new();
    for src in sources {
        match String::from_utf8(src.bytes.clone()) {
            Ok(text) => {
                let file = Arc::new(LoadedText { path: src.path.clone(), text });
                docs.extend(split_documents(&file.text).into_iter().map(|span| (file.clone(), span)));
            }
            Err(e) => {
                let (line, column) = line_col(&src.bytes, e.utf8_error().valid_up_to());
                diags.push(
                    Diagnostic::new(
                        Rule::NotUtf8,
                        "the file is not UTF-8 text (is it a binary file named .yaml?)",
                        "remove the file from the manifest directory, or save it as UTF-8 YAML",
                    )
                    .at(Location { file: src.path.clone(), line, column }),
                );
            }
        }
    }
    if docs.is_empty() && diags.is_empty() {
        diags.push(Diagnostic::new(
            Rule::NoManifests,
            "no YAML documents found",
            "add *.yaml or *.yml files with `apiVersion: powerplane/v1` documents, or point at the right directory",
        ));
    }
    let parsed = parse_all(&docs, allowed, threads.max(1));
    let mut estate = Estate::default();
    for p in parsed {
        match p.and_then(|obj| insert(&mut estate, obj)) {
            Ok(()) => {}
            Err(d) => diags.push(d),
        }
    }
    if diags.is_empty() { Ok(estate) } else { Err(Invalid(diags)) }
}

/// Parses every document, in order, on up to `threads` scoped threads.
fn parse_all(
    docs: &[(Arc<LoadedText>, DocSpan)],
    allowed: &[Kind],
    threads: usize,
) -> Vec<Result<AnyObject, Diagnostic>> {
    // Below a few hundred documents a thread costs more than it saves.
    let threads = threads.min(docs.len() / 256).max(1);
    if threads == 1 {
        return docs.iter().map(|(f, span)| document(f, *span, allowed)).collect();
    }
    let chunk = docs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = docs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(|(f, span)| document(f, *span, allowed)).collect::<Vec<_>>())
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a parser thread panicked")).collect()
    })
}

/// One parsed object of any kind.
enum AnyObject {
    Frame(crate::estate::Frame),
    ProcPool(crate::estate::ProcPool),
    MemPool(crate::estate::MemPool),
    ViosPair(crate::estate::ViosPair),
    Sea(crate::estate::Sea),
    Partition(crate::estate::Partition),
    Hardware(crate::estate::Hardware),
    Settings(crate::estate::Settings),
    Cluster(crate::estate::Cluster),
}

impl AnyObject {
    fn kind(&self) -> Kind {
        match self {
            AnyObject::Frame(_) => Kind::Frame,
            AnyObject::ProcPool(_) => Kind::SharedProcessorPool,
            AnyObject::MemPool(_) => Kind::SharedMemoryPool,
            AnyObject::ViosPair(_) => Kind::ViosPair,
            AnyObject::Sea(_) => Kind::SharedEthernetAdapter,
            AnyObject::Partition(_) => Kind::Partition,
            AnyObject::Hardware(_) => Kind::FrameHardware,
            AnyObject::Settings(_) => Kind::Settings,
            AnyObject::Cluster(_) => Kind::Cluster,
        }
    }

    fn name(&self) -> String {
        match self {
            AnyObject::Frame(o) => o.metadata.name.to_string(),
            AnyObject::ProcPool(o) => o.metadata.name.to_string(),
            AnyObject::MemPool(o) => o.metadata.name.to_string(),
            AnyObject::ViosPair(o) => o.metadata.name.to_string(),
            AnyObject::Sea(o) => o.metadata.name.to_string(),
            AnyObject::Partition(o) => o.metadata.name.to_string(),
            AnyObject::Hardware(o) => o.metadata.name.to_string(),
            AnyObject::Settings(o) => o.metadata.name.to_string(),
            AnyObject::Cluster(o) => o.metadata.name.to_string(),
        }
    }
}

/// Adds an object to the estate, refusing a second object of the same kind and name.
fn insert(e: &mut Estate, obj: AnyObject) -> Result<(), Diagnostic> {
    match obj {
        AnyObject::Frame(o) => insert_into(&mut e.frames, Kind::Frame, o),
        AnyObject::ProcPool(o) => insert_into(&mut e.proc_pools, Kind::SharedProcessorPool, o),
        AnyObject::MemPool(o) => insert_into(&mut e.mem_pools, Kind::SharedMemoryPool, o),
        AnyObject::ViosPair(o) => insert_into(&mut e.vios_pairs, Kind::ViosPair, o),
        AnyObject::Sea(o) => insert_into(&mut e.seas, Kind::SharedEthernetAdapter, o),
        AnyObject::Partition(o) => insert_into(&mut e.partitions, Kind::Partition, o),
        AnyObject::Hardware(o) => insert_into(&mut e.hardware, Kind::FrameHardware, o),
        AnyObject::Settings(o) => insert_into(&mut e.settings, Kind::Settings, o),
        AnyObject::Cluster(o) => insert_into(&mut e.clusters, Kind::Cluster, o),
    }
}

fn insert_into<N: Ord + Clone + Display, S>(
    map: &mut BTreeMap<N, Object<N, S>>,
    kind: Kind,
    o: Object<N, S>,
) -> Result<(), Diagnostic> {
    if let Some(prev) = map.get(&o.metadata.name) {
        let object = ObjectRef::new(kind, &o.metadata.name);
        let prev_at = prev.origin.as_ref().map(|p| p.locate(&["metadata", "name"]).to_string());
        return Err(Diagnostic::new(
            Rule::DuplicateName,
            format!(
                "{object} is defined twice; the other definition is at {}",
                prev_at.as_deref().unwrap_or("another source")
            ),
            format!("names are unique per kind: rename one of the two {kind} objects or delete the copy"),
        )
        .at_opt(o.locate(&["metadata", "name"]))
        .on(object));
    }
    map.insert(o.metadata.name.clone(), o);
    Ok(())
}

/// Parses one document into its kind's object.
fn document(file: &Arc<LoadedText>, span: DocSpan, allowed: &[Kind]) -> Result<AnyObject, Diagnostic> {
    let text = &file.text[span.start..span.end];
    let origin = Origin::new(file.clone(), span.start, span.end, span.first_line);
    // Deep nesting makes the YAML parser superlinear; no manifest needs more than a few levels.
    if let Some((line, column)) = yaml::too_deep(text, yaml::MAX_DEPTH) {
        return Err(Diagnostic::new(
            Rule::TooLarge,
            format!("the document nests deeper than {} levels", yaml::MAX_DEPTH),
            "manifests need a handful of levels; remove the excess nesting",
        )
        .at(Location {
            file: origin.file().to_path_buf(),
            line: span.first_line + line as u32,
            column: column as u32,
        }));
    }
    let kind = kind_of(text).map_err(|e| yaml_error(&origin, span, e, None))?;
    let Some(kind) = Kind::parse(&kind) else {
        let known: Vec<&str> = allowed.iter().map(|k| k.as_str()).collect();
        return Err(Diagnostic::new(
            Rule::UnknownKind,
            format!("unknown kind `{kind}`"),
            format!("use one of: {}", known.join(", ")),
        )
        .at(origin.locate(&["kind"])));
    };
    if !allowed.contains(&kind) {
        return Err(Diagnostic::new(
            Rule::KindNotAllowed,
            format!("`{kind}` documents describe physical facts and belong in an inventory, not in the desired state"),
            "move it to the inventory given to `powerplane sim init --inventory`",
        )
        .at(origin.locate(&["kind"])));
    }
    let parsed = match kind {
        Kind::Frame => parse_doc(text, &origin, kind, Some(Default::default)).map(AnyObject::Frame),
        Kind::SharedProcessorPool => parse_doc(text, &origin, kind, None).map(AnyObject::ProcPool),
        Kind::SharedMemoryPool => parse_doc(text, &origin, kind, None).map(AnyObject::MemPool),
        Kind::ViosPair => parse_doc(text, &origin, kind, None).map(AnyObject::ViosPair),
        Kind::SharedEthernetAdapter => parse_doc(text, &origin, kind, None).map(AnyObject::Sea),
        Kind::Partition => parse_doc(text, &origin, kind, None).map(AnyObject::Partition),
        Kind::FrameHardware => parse_doc(text, &origin, kind, None).map(AnyObject::Hardware),
        Kind::Settings => parse_doc(text, &origin, kind, Some(Default::default)).map(AnyObject::Settings),
        Kind::Cluster => parse_doc(text, &origin, kind, None).map(AnyObject::Cluster),
    };
    parsed.map_err(|e| match e {
        DocError::Yaml(err, name) => yaml_error(&origin, span, err, name),
        DocError::Other(d) => d,
    })
}

fn yaml_error(origin: &Origin, span: DocSpan, e: yaml::YamlError, object: Option<ObjectRef>) -> Diagnostic {
    let location = match e.position {
        Some((line, column)) => Location { file: origin.file().to_path_buf(), line: span.first_line + line, column },
        None => origin.location(),
    };
    let (rule, hint) = if e.syntax {
        (
            Rule::YamlSyntax,
            "fix the YAML at this position: check indentation (spaces, not tabs), colons and brackets".to_owned(),
        )
    } else {
        (Rule::Schema, schema_hint(&e.message))
    };
    let d = Diagnostic::new(rule, e.message, hint).at(location);
    match object {
        Some(o) => d.on(o),
        None => d,
    }
}

enum DocError {
    Yaml(yaml::YamlError, Option<ObjectRef>),
    Other(Diagnostic),
}

/// Parses a document of `kind` into its object.
fn parse_doc<N, S>(
    text: &str,
    origin: &Origin,
    kind: Kind,
    default_spec: Option<fn() -> S>,
) -> Result<Object<N, S>, DocError>
where
    N: DeserializeOwned + Display,
    S: DeserializeOwned,
    Document<N, S>: DeserializeOwned,
{
    let doc: Document<N, S> =
        yaml::parse(text).map_err(|e| DocError::Yaml(e, name_of(text).map(|n| ObjectRef::new(kind, n))))?;
    let spec = match (doc.spec, default_spec) {
        (Some(s), _) => s,
        (None, Some(default)) => default(),
        (None, None) => {
            return Err(DocError::Other(
                Diagnostic::new(
                    Rule::Schema,
                    "missing field `spec`",
                    format!("add a `spec:` section; `powerplane schema` shows what a {kind} needs"),
                )
                .at(origin.location())
                .on(ObjectRef::new(kind, &doc.metadata.name)),
            ));
        }
    };
    Ok(Object { metadata: doc.metadata, spec, origin: Some(origin.clone()) })
}

/// Reads `kind:` from a top-level block line without a full parse, falling back to the parser
/// (which then reports why there is none).
fn kind_of(text: &str) -> Result<String, yaml::YamlError> {
    if let Some(v) = top_level_value(text, "kind") {
        return Ok(v);
    }
    #[derive(serde::Deserialize)]
    struct Header {
        kind: String,
    }
    yaml::parse::<Header>(text).map(|h| h.kind)
}

/// `metadata.name` read from the text, to name the object in a parse error: from the parsed
/// document when its YAML is sound (what is wrong is elsewhere), else from the `metadata:`
/// lines — the value up to where a flow mapping (`{name: a, labels: …}`) goes on or closes.
/// Nothing when what is there is not a name: a label made of YAML punctuation (`Frame/lol}`)
/// would mislead more than no label.
fn name_of(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Header {
        metadata: Meta,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        name: String,
    }
    let sane =
        |n: String| Some(n).filter(|n| !n.is_empty() && !n.contains(['{', '}', '[', ']', ',', ':', '#', '&', '*']));
    if let Ok(h) = yaml::parse::<Header>(text) {
        return sane(h.metadata.name);
    }
    let flow = |rest: &str| {
        let v = scalar(rest);
        let end = if v.starts_with(['"', '\'']) { v.len() } else { v.find([',', '}', ']']).unwrap_or(v.len()) };
        v[..end].trim().trim_matches(|c| c == '"' || c == '\'').to_owned()
    };
    let mut in_meta = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("metadata:") {
            in_meta = true;
            if let Some(i) = rest.find("name:") {
                return sane(flow(&rest[i + 5..]));
            }
            continue;
        }
        if in_meta {
            if !line.starts_with([' ', '\t']) && !line.trim().is_empty() {
                return None;
            }
            if let Some(rest) = line.trim_start().strip_prefix("name:") {
                return sane(scalar(rest));
            }
        }
    }
    None
}

fn top_level_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .map(scalar)
            .filter(|v| !v.is_empty() && !v.starts_with(['[', '{', '&', '*', '!', '|', '>']))
    })
}

/// A plain or quoted scalar with any trailing comment removed.
fn scalar(s: &str) -> String {
    let s = s.trim();
    let s = match s.find(" #") {
        Some(i) => &s[..i],
        None => s,
    };
    s.trim().trim_matches(|c| c == '"' || c == '\'').to_owned()
}

fn schema_hint(message: &str) -> String {
    if message.contains("unknown field") {
        "remove the field or correct its spelling (field names are camelCase; `powerplane schema` lists them)".into()
    } else if message.contains("missing field") {
        "add the missing field; `powerplane schema` shows every required field".into()
    } else if message.contains("unknown variant") {
        "use one of the values listed".into()
    } else if message.contains("invalid type") || message.contains("invalid value") {
        "give a value of the expected type (sizes are whole MB, processor units decimals)".into()
    } else {
        "correct the value; `powerplane schema` describes every field".into()
    }
}

/// 1-based line and column of byte `offset`.
fn line_col(bytes: &[u8], offset: usize) -> (u32, u32) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
    let col = before.iter().rev().take_while(|b| **b != b'\n').count() as u32 + 1;
    (line, col)
}

mod files;
#[cfg(test)]
mod never_panics;

#[cfg(test)]
mod tests {
    use super::*;

    fn src(path: &str, text: &str) -> SourceFile {
        SourceFile::new(path, text.as_bytes().to_vec())
    }

    fn errors(sources: &[SourceFile]) -> Vec<Diagnostic> {
        load_manifests(sources).unwrap_err().0
    }

    const FRAME: &str = "apiVersion: powerplane/v1\nkind: Frame\nmetadata:\n  name: p72\n";

    #[test]
    fn loads_several_documents_and_files() {
        let part = "---\napiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: a}\nspec:\n  placement: {frame: p72}\n  processors: {units: 0.5}\n  memory: {desiredMB: 1024, maxMB: 2048}\n";
        let e = load_manifests(&[src("a.yaml", &format!("{FRAME}{part}")), src("b.yml", "# nothing\n")]).unwrap();
        assert_eq!(e.frames.len(), 1);
        assert_eq!(e.partitions.len(), 1);
        let p = &e.partitions.values().next().unwrap();
        let loc = p.locate(&["spec", "memory"]).unwrap();
        assert_eq!((loc.line, loc.column), (12, 3));
    }

    #[test]
    fn reports_every_bad_document() {
        let bad1 = "apiVersion: powerplane/v1\nkind: Frame\nmetadata: {name: a}\nspec: {maintenance: maybe}\n";
        let bad2 = "apiVersion: powerplane/v1\nkind: Gadget\nmetadata: {name: b}\n";
        let errs = errors(&[src("x.yaml", &format!("{bad1}---\n{bad2}")), src("y.yaml", "a: [\n")]);
        let rules: Vec<_> = errs.iter().map(|d| (d.rule, d.location.as_ref().unwrap().line)).collect();
        assert_eq!(rules, vec![(Rule::Schema, 4), (Rule::UnknownKind, 7), (Rule::YamlSyntax, 2)]);
    }

    /// Issue 33 item 14: a schema error in a document whose metadata is a flow mapping names
    /// the object by its name, never by a piece of YAML (`Frame/lol}`).
    #[test]
    fn a_flow_mapping_metadata_labels_the_object_by_its_name() {
        for (text, label) in [
            (
                "apiVersion: powerplane/v1\nkind: Frame\nmetadata: {name: lol}\nspec: {maintenance: maybe}\n",
                Some("Frame/lol"),
            ),
            (
                "apiVersion: powerplane/v1\nkind: Frame\nmetadata: {name: lol, labels: {a: b}}\nspec: {maintenance: maybe}\n",
                Some("Frame/lol"),
            ),
            (
                "apiVersion: powerplane/v1\nkind: Frame\nmetadata: {name: \"lol\"}\nspec: {maintenance: [\n",
                Some("Frame/lol"),
            ),
            (
                "apiVersion: powerplane/v1\nkind: Frame\nmetadata: {name: lol}}\nspec: {maintenance: maybe}\n",
                Some("Frame/lol"),
            ),
            ("apiVersion: powerplane/v1\nkind: Frame\nmetadata: {name: {x: y}}\nspec: {maintenance: maybe}\n", None),
        ] {
            let errs = errors(&[src("f.yaml", text)]);
            let labels: Vec<Option<String>> = errs.iter().map(|d| d.object.as_ref().map(ToString::to_string)).collect();
            assert_eq!(labels, vec![label.map(str::to_owned)], "{text}: {errs:?}");
        }
    }

    #[test]
    fn wrong_type_is_located_on_its_line() {
        let text = "apiVersion: powerplane/v1\nkind: Partition\nmetadata:\n  name: a\nspec:\n  placement: {frame: p72}\n  processors: {units: 1}\n  memory:\n    desiredMB: lots\n    maxMB: 2048\n";
        let errs = errors(&[src("p.yaml", text)]);
        assert_eq!(errs.len(), 1);
        let d = &errs[0];
        assert_eq!(d.rule, Rule::Schema);
        assert_eq!(d.location.as_ref().unwrap().line, 9);
        assert_eq!(d.object.as_ref().unwrap().to_string(), "Partition/a");
        assert!(d.message.contains("spec.memory.desiredMB"), "{}", d.message);
    }

    #[test]
    fn duplicate_names_across_files() {
        let errs = errors(&[src("a.yaml", FRAME), src("b.yaml", FRAME)]);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].rule, Rule::DuplicateName);
        assert_eq!(errs[0].location.as_ref().unwrap().file.to_str(), Some("b.yaml"));
        assert!(errs[0].message.contains("a.yaml:4:3"), "{}", errs[0].message);
    }

    #[test]
    fn binary_and_empty_input() {
        let errs = errors(&[src("bin.yaml", "kind: \u{0}")]);
        assert!(errs.is_empty() || errs[0].rule != Rule::NotUtf8);
        let errs = errors(&[SourceFile::new("bin.yaml", vec![b'a', 0xff, 0xfe])]);
        assert_eq!(errs[0].rule, Rule::NotUtf8);
        assert_eq!(errors(&[])[0].rule, Rule::NoManifests);
    }

    #[test]
    fn hardware_is_refused_in_manifests_but_read_in_inventories() {
        let hw = "apiVersion: powerplane/v1\nkind: FrameHardware\nmetadata: {name: p72}\nspec: {serial: '1', machineType: 8233-E8B, memoryMB: 1024, procUnits: 4, compatModes: [POWER7]}\n";
        assert_eq!(errors(&[src("h.yaml", hw)])[0].rule, Rule::KindNotAllowed);
        assert_eq!(load_inventory(&[src("h.yaml", hw)]).unwrap().hardware.len(), 1);
    }

    #[test]
    fn missing_spec_and_missing_kind() {
        let errs = errors(&[src("a.yaml", "apiVersion: powerplane/v1\nkind: Partition\nmetadata: {name: a}\n")]);
        assert_eq!(errs[0].rule, Rule::Schema);
        assert!(errs[0].message.contains("spec"));
        let errs = errors(&[src("a.yaml", "apiVersion: powerplane/v1\nmetadata: {name: a}\n")]);
        assert_eq!(errs[0].rule, Rule::Schema);
        assert!(errs[0].message.contains("missing field `kind`"), "{}", errs[0].message);
    }

    #[test]
    fn threads_do_not_change_the_result() {
        let many: String = (0..600)
            .map(|i| format!("---\napiVersion: powerplane/v1\nkind: Frame\nmetadata: {{name: f{i}}}\n"))
            .collect();
        let bad = format!("{many}---\napiVersion: powerplane/v1\nkind: Frame\nmetadata: {{name: f7}}\n---\nkind: [\n");
        let one = load(&[src("a.yaml", &bad)], &Kind::MANIFEST, 1).unwrap_err().0;
        let four = load(&[src("a.yaml", &bad)], &Kind::MANIFEST, 4).unwrap_err().0;
        assert_eq!(one, four);
        assert_eq!(one.iter().map(|d| d.rule).collect::<Vec<_>>(), vec![Rule::DuplicateName, Rule::YamlSyntax]);
        assert_eq!(load(&[src("a.yaml", &many)], &Kind::MANIFEST, 2).unwrap().frames.len(), 600);
    }

    #[test]
    fn api_version_is_checked() {
        let errs = errors(&[src("a.yaml", "apiVersion: powerplane/v2\nkind: Frame\nmetadata: {name: a}\n")]);
        assert_eq!(errs[0].rule, Rule::Schema);
        assert!(errs[0].message.contains("powerplane/v1"), "{}", errs[0].message);
    }
}
