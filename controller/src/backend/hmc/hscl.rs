//! What an HMC's refusal means: its `HSCL` code decides whether a retry may help. The table
//! holds the codes the seeds show; a message without a code is transient only when its words
//! say so (busy, locked, try again), and every other refusal is permanent: powerplane does not
//! retry what it does not understand.

use crate::backend::BackendError;

/// Whether a refusal with this code may succeed when retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Retrying later may help: the partition's RMC connection, a busy resource.
    Transient,
    /// Retrying will not help until something changes.
    Refused,
}

/// Codes the seeds give, with their class.
// seeds: powervm-quickstart-sea-loadsharing-lpm-troubleshooting.txt, lines 1532-1860.
pub const TABLE: &[(&str, Class, &str)] = &[
    ("HSCLA356", Class::Transient, "the RMC command issued to the partition failed (line 1619)"),
    ("HSCLA29A", Class::Transient, "the RMC command issued to the partition failed (line 1623)"),
    ("HSCLA246", Class::Transient, "the HMC cannot communicate migration commands to the partition (line 1769)"),
    ("HSCLA304", Class::Refused, "no suitable shared memory pool on the destination (line 1565)"),
    ("HSCLA297", Class::Refused, "no mover service partition with the DRM capability (line 1575)"),
    ("HSCLA224", Class::Refused, "the partition is designated to use a resource that cannot move (line 1591)"),
    ("HSCLA257", Class::Refused, "the migrating partition returned a failure (line 1718)"),
    ("HSCLA319", Class::Refused, "a virtual fibre channel adapter cannot be hosted on the destination (line 1853)"),
    ("HSCLA340", Class::Refused, "the HMC cannot replicate the multipath I/O configuration (line 1746)"),
    ("HSCLA318", Class::Refused, "the command issued to the destination HMC failed (line 1551)"),
    ("HSCLA335", Class::Refused, "the destination HMC does not support the command (line 1552)"),
    ("HSCL3653", Class::Refused, "SSH between the HMCs is not set up (line 1535)"),
    ("HSCLA2FF", Class::Transient, "an internal HMC error (line 1578)"),
];

/// The first `HSCL` code in `text`.
pub fn code(text: &str) -> Option<&str> {
    text.split(|c: char| !c.is_ascii_alphanumeric()).find(|w| w.len() >= 8 && w.starts_with("HSCL"))
}

/// The error an HMC's failing command stands for: `stderr` (or `stdout` when it said nothing
/// there) carries its message.
pub fn classify(stdout: &str, stderr: &str) -> BackendError {
    let text = if stderr.trim().is_empty() { stdout.trim() } else { stderr.trim() };
    let c = code(text).map(str::to_owned);
    let class = match &c {
        Some(c) => TABLE.iter().find(|(k, _, _)| k == c).map_or(Class::Refused, |(_, class, _)| *class),
        None => {
            let l = text.to_ascii_lowercase();
            if ["busy", "locked", "try again", "temporarily"].iter().any(|w| l.contains(w)) {
                Class::Transient
            } else {
                Class::Refused
            }
        }
    };
    let message = match &c {
        Some(code) => text.replacen(code.as_str(), "", 1).trim().to_owned(),
        None => text.to_owned(),
    };
    match class {
        Class::Transient => BackendError::Transient(match c {
            Some(c) => format!("{c} {message}"),
            None => message,
        }),
        Class::Refused => BackendError::Refused { code: c, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_decide_the_class() {
        let e = classify("", "HSCLA304 A suitable shared memory pool for the mobile partition was not found");
        assert_eq!(
            e,
            BackendError::Refused {
                code: Some("HSCLA304".into()),
                message: "A suitable shared memory pool for the mobile partition was not found".into()
            }
        );
        assert!(classify("", "HSCLA356 The RMC command issued to partition arizona failed.").is_transient());
        assert!(classify("", "p72vio1 is migrating (the resource is busy; try again)").is_transient());
        assert!(!classify("", "The partition x was not found.").is_transient());
        assert!(!classify("", "HSCLZZZZ something new").is_transient());
    }
}
