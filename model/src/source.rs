//! Manifest sources held in memory, and positions inside them. The controller reads the files;
//! the model only ever sees their bytes, which keeps it free of I/O.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One manifest or inventory file's contents.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path shown in messages (as the user gave it, or relative to the manifest root).
    pub path: PathBuf,
    /// The raw bytes; they must be UTF-8 YAML.
    pub bytes: Vec<u8>,
}

impl SourceFile {
    /// A source from a path and its contents.
    pub fn new(path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) -> Self {
        SourceFile { path: path.into(), bytes: bytes.into() }
    }
}

/// A position in a manifest: `file:line:column`, 1-based like editors and compilers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// Where an object was loaded from: its file, and the document's text range and first line.
/// Field positions are found on demand with [`Origin::locate`], only when a message needs one.
#[derive(Clone, Debug)]
pub struct Origin {
    file: Arc<LoadedText>,
    start: usize,
    end: usize,
    first_line: u32,
}

/// A file's text, shared by the origins of all objects in it.
#[derive(Debug)]
pub(crate) struct LoadedText {
    pub path: PathBuf,
    pub text: String,
}

impl Origin {
    pub(crate) fn new(file: Arc<LoadedText>, start: usize, end: usize, first_line: u32) -> Self {
        Origin { file, start, end, first_line }
    }

    /// The file the object came from.
    pub fn file(&self) -> &Path {
        &self.file.path
    }

    /// Position of the document's first line.
    pub fn location(&self) -> Location {
        let doc = &self.file.text[self.start..self.end];
        let (line, col) = first_content(doc).unwrap_or((0, 1));
        Location { file: self.file.path.clone(), line: self.first_line + line + 1, column: col }
    }

    /// Position of a field given by its path (`["spec", "placement", "frame"]`, list items by
    /// index as `"0"`), or of the nearest enclosing field found.
    pub fn locate(&self, path: &[&str]) -> Location {
        let doc = &self.file.text[self.start..self.end];
        match locate_path(doc, path) {
            Some((line, col)) => {
                Location { file: self.file.path.clone(), line: self.first_line + line + 1, column: col }
            }
            None => self.location(),
        }
    }
}

/// The 0-based line and 1-based column of the first non-blank, non-comment, non-`---` line.
fn first_content(doc: &str) -> Option<(u32, u32)> {
    doc.lines().enumerate().find_map(|(i, l)| {
        let t = l.trim_start();
        (!t.is_empty() && !t.starts_with('#') && !is_doc_marker(l)).then(|| (i as u32, (l.len() - t.len()) as u32 + 1))
    })
}

/// Whether a line starts a new YAML document (`---` at column 0, then end or blank).
pub(crate) fn is_doc_marker(line: &str) -> bool {
    line.strip_prefix("---").is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

/// A document inside a file: byte range and the 0-based line it starts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DocSpan {
    pub start: usize,
    pub end: usize,
    pub first_line: u32,
}

/// Splits a file into its YAML documents at `---` lines, dropping documents that hold only
/// blanks and comments. Each document keeps its own `---` line, which YAML accepts.
pub(crate) fn split_documents(text: &str) -> Vec<DocSpan> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut first_line = 0u32;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if is_doc_marker(line) && offset > start {
            docs.push(DocSpan { start, end: offset, first_line });
            start = offset;
            first_line = i as u32;
        }
        offset += line.len();
    }
    docs.push(DocSpan { start, end: text.len(), first_line });
    docs.retain(|d| first_content(&text[d.start..d.end]).is_some() || has_flow_content(&text[d.start..d.end]));
    docs
}

/// A document such as `--- {a: 1}` has its content on the marker line.
fn has_flow_content(doc: &str) -> bool {
    doc.lines().next().and_then(|l| l.strip_prefix("---")).is_some_and(|r| {
        let r = r.trim();
        !r.is_empty() && !r.starts_with('#')
    })
}

/// Finds a field by its path in a document's parse events (`saphyr-parser` gives each event
/// its position): block and flow style, quoted keys, comments and anchors alike. Returns the
/// 0-based line and 1-based column of the deepest key or list item of `path` found; a
/// document that stops parsing early answers with what was found before.
fn locate_path(doc: &str, path: &[&str]) -> Option<(u32, u32)> {
    use saphyr_parser::{Event, Parser};
    let mut open: Vec<Open> = Vec::new();
    let mut best: Option<(usize, (u32, u32))> = None;
    for event in Parser::new_from_str(doc) {
        let Ok((event, span)) = event else { break };
        let at = (span.start.line().saturating_sub(1) as u32, span.start.col() as u32 + 1);
        match event {
            Event::MappingEnd | Event::SequenceEnd => {
                open.pop();
                node_done(&mut open);
                continue;
            }
            Event::Scalar(..) | Event::Alias(..) | Event::MappingStart(..) | Event::SequenceStart(..) => {}
            _ => continue,
        }
        // A node starts here: a key, a mapping's value, a list item, or the document's root.
        let depth = open.len();
        let matches_so_far = depth > 0 && open[..depth - 1].iter().zip(path).all(|(o, seg)| o.is(seg));
        match (open.last_mut(), &event) {
            (Some(Open::Map { key, expecting_key: true }), Event::Scalar(text, ..)) => {
                *key = Some(text.to_string());
                if matches_so_far && path.get(depth - 1) == Some(&text.as_ref()) && best.is_none_or(|(d, _)| depth > d)
                {
                    best = Some((depth, at));
                }
            }
            (Some(Open::Seq { next }), _) => {
                let index = next.to_string();
                if matches_so_far && path.get(depth - 1) == Some(&index.as_str()) && best.is_none_or(|(d, _)| depth > d)
                {
                    best = Some((depth, at));
                }
            }
            _ => {}
        }
        match event {
            Event::MappingStart(..) => open.push(Open::Map { key: None, expecting_key: true }),
            Event::SequenceStart(..) => open.push(Open::Seq { next: 0 }),
            _ => node_done(&mut open),
        }
    }
    best.map(|(_, at)| at)
}

/// A collection being read, and where in it the next node goes.
enum Open {
    /// A mapping: its latest key, and whether the next node is a key (else that key's value).
    Map { key: Option<String>, expecting_key: bool },
    /// A sequence: the index of its next item.
    Seq { next: usize },
}

impl Open {
    /// Whether the node being read inside this collection sits at path segment `seg`.
    fn is(&self, seg: &str) -> bool {
        match self {
            Open::Map { key, .. } => key.as_deref() == Some(seg),
            Open::Seq { next } => seg.parse() == Ok(*next),
        }
    }
}

/// A node ended inside the innermost collection: a mapping now expects the other half of its
/// next pair, a sequence its next item.
fn node_done(open: &mut [Open]) {
    match open.last_mut() {
        Some(Open::Map { expecting_key, .. }) => *expecting_key = !*expecting_key,
        Some(Open::Seq { next }) => *next += 1,
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
apiVersion: powerplane/v1
kind: Partition
metadata:
  name: p1
spec:
  placement:
    frame: p72
  memory:
    desiredMB: 1024
    maxMB: 2048
  network:
    - vlan: 10
    - vlan: 11
  storage: [{lun: L1, via: vscsi}]
";

    #[test]
    fn locates_nested_keys() {
        assert_eq!(locate_path(DOC, &["spec", "placement", "frame"]), Some((6, 5)));
        assert_eq!(locate_path(DOC, &["spec", "memory", "maxMB"]), Some((9, 5)));
        assert_eq!(locate_path(DOC, &["metadata", "name"]), Some((3, 3)));
    }

    #[test]
    fn locates_list_items_and_flow() {
        assert_eq!(locate_path(DOC, &["spec", "network", "1", "vlan"]), Some((12, 7)));
        assert_eq!(locate_path(DOC, &["spec", "storage", "0", "lun"]), Some((13, 14)));
    }

    #[test]
    fn missing_key_gives_deepest_found() {
        assert_eq!(locate_path(DOC, &["spec", "memory", "paging"]), Some((7, 3)));
        assert_eq!(locate_path(DOC, &["nothing"]), None);
    }

    #[test]
    fn does_not_match_a_key_of_a_sibling_block() {
        let doc = "spec:\n  a:\n    frame: x\n  b:\n    other: y\n";
        assert_eq!(locate_path(doc, &["spec", "b", "frame"]), Some((3, 3)));
    }

    /// What the indentation walk could not tell apart: a key-like line inside a block scalar
    /// or a comment, single-quoted keys, and a flow mapping spread over several lines.
    #[test]
    fn skips_block_scalars_and_comments_and_reads_quoted_and_multi_line_flow_keys() {
        let doc = "spec:\n  notes: |\n    frame: not this one\n  # frame: nor this\n  'frame': p72\n  memory: {\n    desiredMB: 1024,\n    maxMB: 2048 }\n";
        assert_eq!(locate_path(doc, &["spec", "frame"]), Some((4, 3)));
        assert_eq!(locate_path(doc, &["spec", "memory", "maxMB"]), Some((7, 5)));
        let seq = "items:\n- a: 1\n-   b: 2\n    c: 3\n";
        assert_eq!(locate_path(seq, &["items", "1", "c"]), Some((3, 5)));
    }

    #[test]
    fn splits_documents_and_keeps_lines() {
        let text = "# header\n---\na: 1\n---\n# only a comment\n---\nb: 2\n--- {c: 3}\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].first_line, 1);
        assert_eq!(&text[docs[1].start..docs[1].end], "---\nb: 2\n");
        assert_eq!(docs[1].first_line, 5);
        assert_eq!(&text[docs[2].start..docs[2].end], "--- {c: 3}\n");
    }

    #[test]
    fn a_file_without_markers_is_one_document() {
        let docs = split_documents("a: 1\nb: 2\n");
        assert_eq!(docs, vec![DocSpan { start: 0, end: 10, first_line: 0 }]);
        assert!(split_documents("\n# nothing\n").is_empty());
    }

    #[test]
    fn dashes_inside_a_line_are_not_markers() {
        assert!(!is_doc_marker("---x"));
        assert!(!is_doc_marker(" ---"));
        assert!(is_doc_marker("--- "));
        assert!(is_doc_marker("---\r\n"));
    }
}
