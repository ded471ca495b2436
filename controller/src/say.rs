//! What a command says to people on stderr besides its log lines — notes, warnings, errors,
//! hints, "listening on …", what a signal does, findings, a rehearsal's report — through one
//! writer ([`Stderr`], and the [`say!`] macro on it): in text mode byte for byte what it is
//! given, each whole line in one write; under `--log-format json` each line one JSON object in
//! the flat shape of the tracing JSON lines (`logging`: `timestamp`, `level`, `message`,
//! `target`), so that every line on stderr parses as JSON. A line's level is its prefix's
//! (`error:` ERROR, `warning:` WARN, else INFO), which the JSON message leaves out.
//!
//! Two kinds of stderr output do not come here: clap's usage errors, printed before the
//! format is known, and the HMC emulator's `sim hmc-shell`/`node-shell`, whose stderr is the
//! emulated command's own output (what an SSH client of the HMC reads), not a log line.

use std::io::Write;
use std::sync::OnceLock;

use crate::logging::LogFormat;

/// The format chosen for this process (text until [`init`]).
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Sets the format of stderr lines for the process (the first call wins, as with the tracing
/// subscriber).
pub(crate) fn init(format: LogFormat) {
    let _ = FORMAT.set(format);
}

/// The format of stderr lines.
fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// Whether stderr lines are JSON (`--log-format json`).
pub(crate) fn is_json() -> bool {
    format() == LogFormat::Json
}

/// Writes a line to stderr as [`Stderr`] does, formatted like `eprintln!`.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = $crate::say::Stderr::new(module_path!());
        let _ = writeln!(out, $($arg)*);
    }};
}
pub(crate) use say;

/// A writer to stderr that writes each whole line at once: as it is in text mode, as a JSON
/// log line under `--log-format json`. What is left without a newline is written by
/// [`Write::flush`] (a prompt) or when the writer is dropped.
pub(crate) struct Stderr {
    /// The module that writes (the JSON lines' `target`).
    target: &'static str,
    /// The format it writes in.
    format: LogFormat,
    /// Bytes not yet ended by a newline.
    pending: Vec<u8>,
}

impl Stderr {
    /// A writer for the module `target` (`module_path!()`), in the process's format.
    pub(crate) fn new(target: &'static str) -> Stderr {
        Stderr::with_format(target, format())
    }

    fn with_format(target: &'static str, format: LogFormat) -> Stderr {
        Stderr { target, format, pending: Vec::new() }
    }

    /// `bytes` in this writer's format: as they are (text), or one JSON object per line.
    fn render(&self, bytes: &[u8]) -> Vec<u8> {
        match self.format {
            LogFormat::Text => bytes.to_vec(),
            LogFormat::Json => {
                let text = String::from_utf8_lossy(bytes);
                let mut out = Vec::new();
                for line in text.lines() {
                    out.extend(json_line(self.target, line).into_bytes());
                    out.push(b'\n');
                }
                out
            }
        }
    }

    /// Writes `bytes` to stderr in one write.
    fn emit(&self, bytes: &[u8]) -> std::io::Result<()> {
        let out = self.render(bytes);
        let mut stderr = std::io::stderr().lock();
        stderr.write_all(&out)?;
        stderr.flush()
    }
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') {
            let rest = self.pending.split_off(end + 1);
            let whole = std::mem::replace(&mut self.pending, rest);
            self.emit(&whole)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.emit(&pending)?;
        }
        Ok(())
    }
}

impl Drop for Stderr {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// One JSON log line for `line` (without its newline), in the tracing lines' flat shape.
fn json_line(target: &str, line: &str) -> String {
    let (level, message) = [("error: ", "ERROR"), ("warning: ", "WARN")]
        .iter()
        .find_map(|(prefix, level)| line.strip_prefix(prefix).map(|m| (*level, m)))
        .unwrap_or(("INFO", line.strip_prefix("note: ").unwrap_or(line)));
    // tracing-subscriber's JSON timestamps: RFC 3339 UTC with microseconds.
    let timestamp = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    // In tracing's key order (a JSON object built from a map would sort them).
    let quoted = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        r#"{{"timestamp":{},"level":{},"message":{},"target":{}}}"#,
        quoted(&timestamp),
        quoted(level),
        quoted(message),
        quoted(target)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_written_as_it_is_given() {
        let w = Stderr::with_format("t", LogFormat::Text);
        let block = b"a finding\n  with detail\nApply? ";
        assert_eq!(w.render(block), block.to_vec());
    }

    #[test]
    fn each_json_line_is_one_flat_object_with_the_level_of_its_prefix() {
        let w = Stderr::with_format("powerplane_controller::cli", LogFormat::Json);
        let out = String::from_utf8(w.render(b"note: created\nerror: bad\nfix: do this\nwarning: careful\n")).unwrap();
        let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let pairs: Vec<(&str, &str)> =
            lines.iter().map(|v| (v["level"].as_str().unwrap(), v["message"].as_str().unwrap())).collect();
        assert_eq!(pairs, [("INFO", "created"), ("ERROR", "bad"), ("INFO", "fix: do this"), ("WARN", "careful")]);
        for v in &lines {
            assert_eq!(v["target"], "powerplane_controller::cli");
            let t = v["timestamp"].as_str().unwrap();
            assert!(t.parse::<jiff::Timestamp>().is_ok() && t.ends_with('Z'), "{t}");
            assert_eq!(v.as_object().unwrap().len(), 4, "flat: {v}");
        }
        for line in out.lines() {
            assert!(
                line.starts_with(r#"{"timestamp":"#) && line.contains(r#"","level":"#),
                "tracing's key order: {line}"
            );
        }
    }
}
