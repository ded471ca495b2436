//! Words for messages: counted nouns ("1 attempt", "3 attempts"), and an error with its causes
//! in one line.

/// `n` and `word`, plural unless `n` is 1 (`word` takes an `s`).
pub(crate) fn count(n: impl Into<u64>, word: &str) -> String {
    let n = n.into();
    if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") }
}

/// `e` and its causes, `outer: inner: root`, as anyhow's `{:#}` prints them, but a cause whose
/// words the message before it already ends with is not repeated: an error that keeps its
/// cause as its source and also says it (`cannot write X: No space left`) reads once.
pub(crate) fn causes(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.is_empty() {
            out = text;
        } else if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(super::count(1u32, "attempt"), "1 attempt");
        assert_eq!(super::count(0u32, "attempt"), "0 attempts");
        assert_eq!(super::count(84u64, "record"), "84 records");
    }

    #[test]
    fn a_cause_the_message_already_says_is_not_repeated() {
        let io = std::io::Error::other("No space left on device");
        let said = anyhow::Error::new(crate::backend::BackendError::caused("the journal cannot be written", io));
        assert_eq!(super::causes(&said), "backend failure: the journal cannot be written: No space left on device");
        let context = anyhow::anyhow!("disk full").context("saving the snapshot");
        assert_eq!(super::causes(&context), "saving the snapshot: disk full");
    }
}
