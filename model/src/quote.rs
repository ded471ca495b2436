//! One word of an HMC command line, quoted when it needs to be: the one place where a name (a
//! frame, partition, VIOS or profile the HMC allows with inner spaces, `db prod 01`) becomes an
//! argument of its own (`chhwres -p "db prod 01"`). The HMC's restricted shell (rbash) and the
//! emulator (`shlex`) split words as a POSIX shell does, so a space must be quoted there;
//! inside an attribute list that is already double-quoted (`-i "name=db prod 01,…"`) it needs
//! nothing, and those sites do not call this.

use std::borrow::Cow;

/// `word` as one shell word: unchanged when every character is one a shell takes literally
/// (so every name without a space renders exactly as it always has), in double quotes when it
/// holds spaces but nothing a shell expands inside double quotes (`"db prod 01"`, the form
/// IBM's examples use), and in single quotes otherwise (a `'` written as `'\''`).
pub fn hmc_word(word: &str) -> Cow<'_, str> {
    let plain =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/' | '=' | ',' | '+' | '@' | '%');
    if !word.is_empty() && word.chars().all(plain) {
        return Cow::Borrowed(word);
    }
    if word.chars().all(|c| !c.is_control() && !matches!(c, '"' | '\\' | '$' | '`' | '!')) {
        return Cow::Owned(format!("\"{word}\""));
    }
    Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
}

#[cfg(test)]
mod tests {
    use super::hmc_word;

    #[test]
    fn plain_words_are_left_alone() {
        for w in ["p72", "IBM_MMA_P6_102615A_SOLCHMS05", "Server-8233-E8B-SN100302P.lab:1", "hdisk3", "a=b,c"] {
            assert!(matches!(hmc_word(w), std::borrow::Cow::Borrowed(_)), "{w}");
            assert_eq!(hmc_word(w), w);
        }
    }

    #[test]
    fn a_space_is_double_quoted() {
        assert_eq!(hmc_word("db prod 01"), "\"db prod 01\"");
        assert_eq!(hmc_word("two  spaces"), "\"two  spaces\"");
        assert_eq!(hmc_word(""), "\"\"");
    }

    /// Whatever the word, a POSIX shell reads it back as that one word.
    #[test]
    fn every_word_reads_back_as_itself() {
        for w in ["db prod 01", "", "it's", "a\"b", "$HOME x", "a\\b", "`id`", "x!y", "tab\there", "line\nbreak", "ä ö"]
        {
            let line = format!("cmd -p {} -o x", hmc_word(w));
            assert_eq!(
                shlex::split(&line),
                Some(vec!["cmd".into(), "-p".into(), w.to_owned(), "-o".into(), "x".into()]),
                "{line}"
            );
        }
    }
}
