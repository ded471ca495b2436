//! The one place that touches the YAML library (`serde_yaml`, through its maintained fork
//! `serde_norway`), so that it can be swapped without touching the rest of the model.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A YAML document that did not parse into the wanted type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    /// The parser's message without its position suffix (it starts with the field path, like
    /// `spec.memory.desiredMB: invalid type ...`).
    pub message: String,
    /// 1-based line and column inside the parsed text.
    pub position: Option<(u32, u32)>,
    /// True when the text is not YAML at all, false when it is YAML of the wrong shape.
    pub syntax: bool,
}

/// Parses one YAML document into `T`.
/// How deep a manifest may nest (flow brackets and block indentation together).
pub(crate) const MAX_DEPTH: usize = 256;

/// Where `text` first nests deeper than `max` levels (1-based line and column), in one linear
/// pass: flow collections (`[`, `{`) outside quotes and comments, plus block levels (each
/// deeper indentation opens one).
pub(crate) fn too_deep(text: &str, max: usize) -> Option<(usize, usize)> {
    let mut indents: Vec<usize> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let content = line.trim_start_matches([' ', '-']);
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        while indents.last().is_some_and(|&d| d >= indent) {
            indents.pop();
        }
        indents.push(indent);
        let mut flow = 0usize;
        let mut quote: Option<char> = None;
        for (col, c) in line.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') if col == 0 || line[..col].ends_with(' ') => break,
                (None, '[' | '{') => {
                    flow += 1;
                    if indents.len() + flow > max {
                        return Some((i + 1, col + 1));
                    }
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
        if indents.len() > max {
            return Some((i + 1, indent + 1));
        }
    }
    None
}

pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_yaml::from_str::<T>(text).map_err(|typed| {
        // Only on failure: a second, shape-free parse tells bad YAML from a bad shape. The typed
        // parse may stop at a missing field before it reaches broken syntax further down, so
        // when the text is not YAML, the syntax error is the one to report.
        match serde_yaml::from_str::<serde::de::IgnoredAny>(text) {
            Err(syntax) => error(&syntax, true, text),
            Ok(_) => error(&typed, false, text),
        }
    })
}

fn error(e: &serde_yaml::Error, syntax: bool, text: &str) -> YamlError {
    let position = e.location().map(|l| position_of(text, l.index()));
    YamlError { message: strip_positions(&e.to_string()), position, syntax }
}

/// The 1-based line and column of a byte offset, counting lines by `\n` like the rest of the
/// loader and every editor (the parser also breaks lines at a lone `\r`, so its own line
/// numbers can point past the end of a file with stray carriage returns).
fn position_of(text: &str, index: usize) -> (u32, u32) {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    let before = &text[..index];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    (line as u32, before[line_start..].chars().count() as u32 + 1)
}

/// Removes the parser's ` at line L column C` fragments: they count from the start of the
/// document, while the reported position counts from the start of the file.
fn strip_positions(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " at line ".len()..];
        let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n = digits(after);
        let tail = &after[n..];
        rest = match tail.strip_prefix(" column ") {
            Some(t) if n > 0 => &t[digits(t)..],
            _ => {
                out.push_str(" at line ");
                after
            }
        };
    }
    out.push_str(rest);
    out
}

/// Parses one YAML document into `T`, for callers outside the model (tests, tools); the
/// message carries the field path and position.
pub fn from_yaml<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    parse(text).map_err(|e| match e.position {
        Some((l, c)) => format!("{} at line {l} column {c}", e.message),
        None => e.message,
    })
}

/// The leaf fields of a value as `(path, rendered value)`, e.g. `("memory.desiredMB", "4096")`,
/// for field-level diffs.
pub(crate) fn leaves<T: Serialize>(value: &T) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &serde_yaml::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_yaml::Value::Mapping(m) => {
                for (k, v) in m {
                    let key = k.as_str().map_or_else(|| format!("{k:?}"), str::to_owned);
                    let path = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
                    walk(&path, v, out);
                }
            }
            serde_yaml::Value::Sequence(items) if items.iter().all(|i| !i.is_mapping() && !i.is_sequence()) => {
                let parts: Vec<String> = items.iter().map(scalar).collect();
                out.push((prefix.to_owned(), format!("[{}]", parts.join(", "))));
            }
            serde_yaml::Value::Sequence(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), v, out);
                }
            }
            other => out.push((prefix.to_owned(), scalar(other))),
        }
    }
    fn scalar(v: &serde_yaml::Value) -> String {
        match v {
            serde_yaml::Value::String(s) => s.clone(),
            serde_yaml::Value::Null => "null".to_owned(),
            serde_yaml::Value::Bool(b) => b.to_string(),
            // As the YAML emitter writes it (the test below holds them equal), without
            // running one per number.
            serde_yaml::Value::Number(n) => n.to_string(),
            other => to_yaml(other).trim_end().to_owned(),
        }
    }
    let mut out = Vec::new();
    walk("", &serde_yaml::to_value(value).expect("model values serialize"), &mut out);
    out
}

/// Renders a value as YAML.
pub fn to_yaml<T: Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).expect("model values always serialize to YAML")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_render_scalars_as_the_yaml_emitter_does() {
        let values: serde_yaml::Value = serde_yaml::from_str(
            "ints: [0, 1, -7, 9007199254740993, -9223372036854775808]\n\
             floats: [0.0, 1.0, 0.5, 2.25, -0.05, 1e20, 1.5e-7, 123456789.123]\n\
             bools: [true, false]\n\
             nested: {a: 16384, b: 0.1, c: true}\n",
        )
        .unwrap();
        for (path, rendered) in leaves(&values) {
            let v = path.split('.').fold(&values, |v, k| &v[k]);
            let expected = match v.as_sequence() {
                Some(items) => {
                    let parts: Vec<String> = items.iter().map(|i| to_yaml(i).trim_end().to_owned()).collect();
                    format!("[{}]", parts.join(", "))
                }
                None => to_yaml(v).trim_end().to_owned(),
            };
            assert_eq!(rendered, expected, "{path}");
        }
        let special: Vec<f64> = vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
        for (f, (_, rendered)) in special.iter().zip(leaves(&special.iter().map(|f| vec![*f]).collect::<Vec<_>>())) {
            assert_eq!(rendered, format!("[{}]", to_yaml(f).trim_end()));
        }
    }

    #[test]
    fn deep_nesting_is_found_in_linear_time() {
        let deep = format!("kind: Partition\nspec: {}", "[".repeat(200_000));
        assert_eq!(too_deep(&deep, MAX_DEPTH), Some((2, 7 + MAX_DEPTH - 1)));
        assert_eq!(too_deep("a:\n  b: [1, [2, {c: 3}]]\n  d: '[[[['\n", 5), None);
        assert!(too_deep("a:\n  b: [1, [2, {c: 3}]]\n", 4).is_some());
        let block: String = (0..300).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        assert_eq!(too_deep(&block, MAX_DEPTH).map(|p| p.0), Some(MAX_DEPTH + 1));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct T {
        #[allow(dead_code)]
        a: u32,
    }

    #[test]
    fn tells_syntax_from_shape() {
        let e = parse::<T>("a: [1\n").unwrap_err();
        assert!(e.syntax, "{e:?}");
        let e = parse::<T>("a: lots\n").unwrap_err();
        assert!(!e.syntax);
        assert_eq!(e.position, Some((1, 4)));
        assert!(e.message.starts_with("a: invalid type"), "{}", e.message);
        assert!(!e.message.contains(" at line "));
    }

    #[test]
    fn positions_count_lines_by_newline_only() {
        // Found by fuzzing: a lone `\r` is a line break to the parser, not to the file.
        let e = parse::<serde::de::IgnoredAny>("a: 1\r\r\r\nb: [\n").unwrap_err();
        assert_eq!(e.position.map(|p| p.0), Some(3));
        let e = parse::<serde::de::IgnoredAny>("a: 1\nb: c: d\n").unwrap_err();
        assert_eq!(e.position, Some((2, 5)));
    }

    #[test]
    fn positions_are_removed_from_messages() {
        assert_eq!(
            strip_positions(
                "did not find expected key at line 8 column 2, while parsing a block mapping at line 1 column 1"
            ),
            "did not find expected key, while parsing a block mapping"
        );
        assert_eq!(strip_positions("value at line x"), "value at line x");
    }
}
