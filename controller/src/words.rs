//! Counted nouns for messages: "1 attempt", "3 attempts".

/// `n` and `word`, plural unless `n` is 1 (`word` takes an `s`).
pub(crate) fn count(n: impl Into<u64>, word: &str) -> String {
    let n = n.into();
    if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(super::count(1u32, "attempt"), "1 attempt");
        assert_eq!(super::count(0u32, "attempt"), "0 attempts");
        assert_eq!(super::count(84u64, "record"), "84 records");
    }
}
