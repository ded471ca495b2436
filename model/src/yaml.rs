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
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_yaml::from_str::<T>(text).map_err(|e| {
        // Only on failure: a second, shape-free parse tells bad YAML from a bad shape.
        let syntax = serde_yaml::from_str::<serde::de::IgnoredAny>(text).is_err();
        let position = e.location().map(|l| (l.line() as u32, l.column() as u32));
        let mut message = e.to_string();
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        YamlError { message, position, syntax }
    })
}

/// Renders a value as YAML.
pub fn to_yaml<T: Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).expect("model values always serialize to YAML")
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
