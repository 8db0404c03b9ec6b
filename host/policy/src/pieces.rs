//! Redacting a text that arrives in pieces ([`PieceRedactor`]): a model's answer streamed to a
//! terminal, say. A secret may be split across two pieces, so what could still become part of
//! a secret is held back until the next piece (or the end) decides:
//!
//! - with values registered, the last [`Secrets::longest_value`] bytes (the longest form a
//!   value is searched in) are held back;
//! - with patterns registered (whose matches have no length limit), the current line is held
//!   back until its line break;
//! - a secret found across the point where the text would be cut moves the cut before it.
//!
//! What is given out is redacted as [`Secrets::redact`] would redact it. Not caught: a pattern
//! whose matches span a line break, split across pieces at that line break.

use crate::secrets::Secrets;
use std::sync::Arc;

/// Redacts a text given piece by piece; see the module's documentation.
#[derive(Debug, Clone)]
pub struct PieceRedactor {
    secrets: Arc<Secrets>,
    pending: String,
}

impl PieceRedactor {
    /// A redactor for `secrets`.
    pub fn new(secrets: Arc<Secrets>) -> PieceRedactor {
        PieceRedactor {
            secrets,
            pending: String::new(),
        }
    }

    /// Takes in the next piece; returns what may be shown now (redacted, perhaps empty).
    pub fn push(&mut self, piece: &str) -> String {
        self.pending.push_str(piece);
        if self.secrets.is_empty() {
            return std::mem::take(&mut self.pending);
        }
        let cut = self.safe_cut();
        let shown = self.secrets.redact(&self.pending[..cut]);
        self.pending.drain(..cut);
        shown
    }

    /// The end of the text: the rest, redacted.
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        if self.secrets.is_empty() {
            rest
        } else {
            self.secrets.redact(&rest)
        }
    }

    /// Where the pending text may be cut: no later piece can make a secret of what comes
    /// before, and no secret found so far spans the cut.
    fn safe_cut(&self) -> usize {
        let text = &self.pending;
        let mut cut = text.len().saturating_sub(self.secrets.longest_value());
        if self.secrets.has_patterns() {
            cut = cut.min(text.rfind('\n').map_or(0, |i| i + 1));
        }
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let spans = self.secrets.spans(text);
        while let Some(start) = spans
            .iter()
            .filter(|s| s.start < cut && cut < s.end)
            .map(|s| s.start)
            .min()
        {
            cut = start;
        }
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(patterns: &[&str], values: &[&str]) -> PieceRedactor {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        let secrets = Secrets::new(&patterns)
            .unwrap()
            .with_values(values.iter().map(|v| v.to_string()));
        PieceRedactor::new(Arc::new(secrets))
    }

    /// Everything `r` shows for `pieces`, the end included.
    fn shown(mut r: PieceRedactor, pieces: &[&str]) -> (Vec<String>, String) {
        let each: Vec<String> = pieces.iter().map(|p| r.push(p)).collect();
        let mut all: String = each.concat();
        all.push_str(&r.finish());
        (each, all)
    }

    #[test]
    fn a_value_split_across_pieces_never_shows() {
        let value = "hunter2-very-secret";
        for split in 1..value.len() {
            let (a, b) = value.split_at(split);
            let first = format!("the password is {a}");
            let after = " and more text after it".repeat(10);
            let second = format!("{b}{after}");
            let (each, all) = shown(redactor(&[], &[value]), &[&first, &second, " end"]);
            assert_eq!(
                all,
                format!("the password is [REDACTED]{after} end"),
                "split at {split}"
            );
            assert!(
                each[1].starts_with("the password is [REDACTED] and more"),
                "shown once the secret is complete: {each:?}"
            );
            for piece in &each {
                assert!(!piece.contains(a) || a.len() < 4, "{piece:?} at {split}");
            }
        }
    }

    #[test]
    fn text_is_shown_as_it_arrives_less_the_held_tail() {
        let r = redactor(&[], &["abcd"]);
        let hold = r.secrets.longest_value();
        let long = "x".repeat(hold + 10);
        let (each, all) = shown(r, &[&long, "yy"]);
        assert_eq!(each[0].len(), 10, "all but the held tail");
        assert_eq!(all, format!("{long}yy"));
        // Nothing registered: every piece shows at once.
        let (each, _) = shown(redactor(&[], &[]), &["a", "b"]);
        assert_eq!(each, vec!["a", "b"]);
    }

    #[test]
    fn patterns_are_held_to_the_line_and_encoded_values_are_caught() {
        let (each, all) = shown(
            redactor(&["sk-[a-z0-9]{8,}"], &[]),
            &["first line\nkey sk-abc", "def12345 done\n", "next"],
        );
        assert_eq!(each[0], "first line\n");
        assert_eq!(each[1], "key [REDACTED] done\n");
        assert_eq!(all, "first line\nkey [REDACTED] done\nnext");
        // The value hex-encoded, split in two.
        let hex = "68756e74657232"; // "hunter2"
        let (each, all) = shown(
            redactor(&[], &["hunter2"]),
            &["x ", &hex[..5], &hex[5..], " y"],
        );
        assert!(each.iter().all(|p| !p.contains(&hex[..5])), "{each:?}");
        assert_eq!(all, "x [REDACTED] y");
    }

    #[test]
    fn multibyte_text_is_cut_on_character_boundaries() {
        // Some prefix length puts the cut inside a two-byte character.
        for n in 0..4 {
            let first = format!("{}{}ü geh", "a".repeat(n), "é".repeat(30));
            let (_, all) = shown(redactor(&[], &["geheim"]), &[&first, "eim ö"]);
            assert_eq!(
                all,
                format!("{}{}ü [REDACTED] ö", "a".repeat(n), "é".repeat(30))
            );
        }
    }
}
