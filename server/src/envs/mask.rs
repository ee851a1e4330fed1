//! Masks an environment's secret values in a stream of output (a run's stdout and stderr, a
//! terminal's screen) before anyone sees it or it is stored.
//!
//! Output arrives in pieces, and a secret can be cut between two of them: the end of a piece
//! that could be the start of a secret is held back until the next piece shows whether it
//! is one. The drive releases what is held when no more output came for a while
//! ([`Masker::release`]), so a prompt never waits for ever; a program that prints a secret
//! slowly, piece by piece, or transformed (reversed, base64) is not masked: masking keeps a
//! secret out of sight by accident, it does not stop a program that has the secret from
//! showing it (whoever can run code in an environment can read its secrets).

use aho_corasick::{AhoCorasick, MatchKind};

/// What a secret's value is replaced by.
pub const MASK: &str = "••••";

pub struct Masker {
    find: Option<AhoCorasick>,
    secrets: Vec<String>,
    /// Bytes that start some secret: the only places a held-back tail can begin.
    starts: [bool; 256],
    longest: usize,
    held: String,
}

impl Masker {
    /// A masker for these values (empty ones are ignored).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        secrets.sort();
        secrets.dedup();
        let find = if secrets.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&secrets)
                .map_err(|e| tracing::error!(error = %e, "cannot build the secrets' matcher"))
                .ok()
        };
        let mut starts = [false; 256];
        for s in &secrets {
            if let Some(&b) = s.as_bytes().first() {
                starts[usize::from(b)] = true;
            }
        }
        let longest = secrets.iter().map(String::len).max().unwrap_or(0);
        Self {
            find,
            secrets,
            starts,
            longest,
            held: String::new(),
        }
    }

    /// A masker with nothing to mask.
    pub fn none() -> Self {
        Self::new(Vec::new())
    }

    pub fn is_empty(&self) -> bool {
        self.find.is_none()
    }

    /// The next piece of output, masked; its end may be held back (see the module's note).
    pub fn push(&mut self, text: &str) -> String {
        if self.find.is_none() {
            return text.to_owned();
        }
        let s = if self.held.is_empty() {
            text.to_owned()
        } else {
            let mut s = std::mem::take(&mut self.held);
            s.push_str(text);
            s
        };
        let (out, hold) = self.mask(&s, true);
        self.held = s[hold..].to_owned();
        out
    }

    /// `s` masked up to where its tail may still become a secret (with `hold`) or whole;
    /// and where the unmasked tail starts.
    fn mask(&self, s: &str, hold: bool) -> (String, usize) {
        let Some(find) = &self.find else {
            return (s.to_owned(), s.len());
        };
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        loop {
            let end = if hold {
                self.hold_from(s, last)
            } else {
                s.len()
            };
            match find.find(&s[last..]) {
                Some(m) if last + m.start() < end => {
                    out.push_str(&s[last..last + m.start()]);
                    out.push_str(MASK);
                    last += m.end();
                }
                _ => {
                    out.push_str(&s[last..end]);
                    return (out, end);
                }
            }
        }
    }

    /// Whether the end of the output so far is held back.
    pub fn holds(&self) -> bool {
        !self.held.is_empty()
    }

    /// What is held back, masked as it stands: when the output has paused, or at its end.
    pub fn release(&mut self) -> String {
        let held = std::mem::take(&mut self.held);
        self.mask(&held, false).0
    }

    /// Where the tail of `s` that may still become a secret starts (at or after `from`), or
    /// its length when none may.
    fn hold_from(&self, s: &str, from: usize) -> usize {
        let bytes = s.as_bytes();
        let first = from.max(s.len().saturating_sub(self.longest.saturating_sub(1)));
        (first..s.len())
            .filter(|&i| self.starts[usize::from(bytes[i])] && s.is_char_boundary(i))
            .find(|&i| {
                let tail = &s[i..];
                self.secrets
                    .iter()
                    .any(|secret| secret.len() > tail.len() && secret.starts_with(tail))
            })
            .unwrap_or(s.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker(secrets: &[&str]) -> Masker {
        Masker::new(secrets.iter().map(|s| (*s).to_owned()))
    }

    /// Feeds the pieces and releases at the end.
    fn through(m: &mut Masker, pieces: &[&str]) -> String {
        let mut out: String = pieces.iter().map(|p| m.push(p)).collect();
        out.push_str(&m.release());
        out
    }

    #[test]
    fn whole_secrets_are_masked_wherever_they_fall() {
        let mut m = masker(&["hunter2xyz", "s3cr3t"]);
        assert_eq!(
            through(&mut m, &["token=hunter2xyz and s3cr3t!\n"]),
            "token=•••• and ••••!\n"
        );
        // Cut between pieces, one byte at a time.
        let text = "a hunter2xyz b s3cr3ts3cr3t c";
        let bytes: Vec<String> = text.chars().map(String::from).collect();
        let pieces: Vec<&str> = bytes.iter().map(String::as_str).collect();
        assert_eq!(through(&mut m, &pieces), "a •••• b •••••••• c");
        // Every cut point of one text.
        for cut in 0..=text.len() {
            assert_eq!(
                through(&mut m, &[&text[..cut], &text[cut..]]),
                "a •••• b •••••••• c",
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn only_a_possible_start_is_held_back() {
        let mut m = masker(&["hunter2xyz"]);
        assert_eq!(m.push("plain text"), "plain text");
        assert!(!m.holds());
        assert_eq!(m.push("say hun"), "say ");
        assert!(m.holds());
        // Not the secret after all: released with the next piece.
        assert_eq!(m.push("gry"), "hungry");
        assert_eq!(m.push("hunter"), "");
        // A pause: what is held is shown as it is.
        assert_eq!(m.release(), "hunter");
        assert!(!m.holds());
    }

    #[test]
    fn the_longer_of_two_overlapping_secrets_wins_even_across_pieces() {
        let mut m = masker(&["abc", "abcdef"]);
        assert_eq!(through(&mut m, &["xxabc", "def yy"]), "xx•••• yy");
        assert_eq!(through(&mut m, &["xxabc", " yy"]), "xx•••• yy");
        assert_eq!(through(&mut m, &["abcab", "c"]), "••••••••");
        // The output ends (or pauses) on a secret that a longer one starts with.
        assert_eq!(through(&mut m, &["xxabc"]), "xx••••");
        // A repeated letter: the match inside the held tail is found.
        let mut m = masker(&["aaaa"]);
        assert_eq!(through(&mut m, &["aaaaa"]), "••••a");
        assert_eq!(through(&mut m, &["aaa", "aaaaa"]), "••••••••");
    }

    #[test]
    fn multibyte_text_and_secrets_stay_whole() {
        let mut m = masker(&["clé-秘密"]);
        let text = "→ clé-秘密 ←";
        for cut in (0..=text.len()).filter(|&c| text.is_char_boundary(c)) {
            assert_eq!(through(&mut m, &[&text[..cut], &text[cut..]]), "→ •••• ←");
        }
    }

    #[test]
    fn no_secrets_means_no_change_and_no_holding() {
        let mut m = Masker::none();
        assert!(m.is_empty());
        assert_eq!(m.push("anything"), "anything");
        assert!(!m.holds());
        let mut m = masker(&["", ""]);
        assert!(m.is_empty());
        assert_eq!(m.push("x"), "x");
    }
}
