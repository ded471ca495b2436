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

/// Finds a field in block-style YAML by walking keys by indentation; flow mappings on one line
/// are searched for `key:`. Returns 0-based line and 1-based column of the deepest key found.
fn locate_path(doc: &str, path: &[&str]) -> Option<(u32, u32)> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut best = None;
    let mut from = 0usize;
    let mut parent_indent: isize = -1;
    let mut end = lines.len();
    for (k, seg) in path.iter().enumerate() {
        let found = if let Ok(idx) = seg.parse::<usize>() {
            find_item(&lines[from..end], idx)
        } else {
            find_key(&lines[from..end], parent_indent, seg)
        };
        let Some((rel, col, indent)) = found else {
            break;
        };
        let line = from + rel;
        best = Some((line as u32, col as u32 + 1));
        if lines[line][col..].contains('{') || lines[line][col..].contains('[') {
            // A flow collection: the rest of the path lives on this line.
            for rest in &path[k + 1..] {
                let key = format!("{rest}:");
                if let Some(c) = lines[line][col..].find(&key) {
                    best = Some((line as u32, (col + c) as u32 + 1));
                }
            }
            break;
        }
        // An item's first key is on the item's own line.
        from = if seg.parse::<usize>().is_ok() { line } else { line + 1 };
        end = block_end(&lines, line + 1, indent);
        parent_indent = indent as isize;
    }
    best
}

/// Indentation of a line, counting a leading `- ` as indentation (a list item's first key).
fn content_indent(line: &str) -> Option<usize> {
    let t = line.trim_start();
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    let mut indent = line.len() - t.len();
    let mut rest = t;
    while let Some(r) = rest.strip_prefix("- ") {
        let r2 = r.trim_start();
        indent += 2 + (r.len() - r2.len());
        rest = r2;
    }
    Some(indent)
}

/// First line at or after `from` that closes the block of a key indented by `key_indent`: a
/// content line indented less, or as much without being a `- ` item of the block.
fn block_end(lines: &[&str], from: usize, key_indent: usize) -> usize {
    lines[from..]
        .iter()
        .position(|l| {
            let t = l.trim_start();
            let raw = l.len() - t.len();
            !t.is_empty() && !t.starts_with('#') && (raw < key_indent || raw == key_indent && !t.starts_with('-'))
        })
        .map_or(lines.len(), |p| from + p)
}

fn find_key(lines: &[&str], parent_indent: isize, key: &str) -> Option<(usize, usize, usize)> {
    let mut child_indent = None;
    for (i, l) in lines.iter().enumerate() {
        let Some(indent) = content_indent(l) else {
            continue;
        };
        if (indent as isize) <= parent_indent {
            if is_doc_marker(l) {
                continue;
            }
            break;
        }
        let ci = *child_indent.get_or_insert(indent);
        if indent != ci {
            continue;
        }
        let rest = &l[indent..];
        let bare = rest.strip_prefix(key).is_some_and(|r| r.starts_with(':'));
        let quoted = rest.strip_prefix('"').and_then(|r| r.strip_prefix(key)).is_some_and(|r| r.starts_with("\":"));
        if bare || quoted {
            return Some((i, indent, indent));
        }
    }
    None
}

fn find_item(lines: &[&str], idx: usize) -> Option<(usize, usize, usize)> {
    let mut item_indent = None;
    let mut n = 0;
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        if !(t.starts_with("- ") || t == "-") {
            continue;
        }
        let raw = l.len() - t.len();
        if *item_indent.get_or_insert(raw) != raw {
            continue;
        }
        if n == idx {
            let col = content_indent(l).unwrap_or(raw);
            // The item's keys sit at `col`, so its block is everything indented past `col - 1`.
            return Some((i, col, col.saturating_sub(1)));
        }
        n += 1;
    }
    None
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
