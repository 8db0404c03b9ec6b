//! Retrieval: the FTS5 query built from a goal, tool names and errors (pure), and the text
//! of retrieved lessons for a planner's context.

use super::store::Lesson;

/// Words too common to say anything about a goal.
const STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "from", "into", "that", "this", "then", "than", "what", "which",
    "are", "was", "were", "has", "have", "had", "not", "but", "all", "any", "each", "its", "our",
    "your", "their", "out", "off", "over", "per", "via", "use", "using", "step", "steps", "tool",
];

/// Significant words of `texts`: lowercase alphanumeric runs of 3+ characters, stopwords
/// dropped, deduplicated in order of first appearance.
pub fn terms<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in texts {
        for w in t.split(|c: char| !c.is_alphanumeric()) {
            let w = w.to_lowercase();
            if w.chars().count() >= 3 && !STOPWORDS.contains(&w.as_str()) && !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

/// An FTS5 query matching any of `terms` (each quoted, so no FTS syntax leaks in); empty when
/// there are none.
pub fn fts_query(terms: &[String]) -> String {
    terms
        .iter()
        .take(64)
        .map(|t| format!("\"{}\"", t.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// Lessons as a block of text for the planner's context.
pub fn context(lessons: &[Lesson]) -> String {
    if lessons.is_empty() {
        return String::new();
    }
    let mut out = String::from("Lessons from earlier runs of similar goals (apply them):\n");
    for l in lessons {
        out.push_str(&format!("- [lesson {}] {}\n", l.id, l.text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_significant_words() {
        assert_eq!(
            terms(["Read the inventory", "fs.read", "inventory; restock!"]),
            vec!["read", "inventory", "restock"]
        );
        assert!(terms(["a an to of"]).is_empty());
    }

    #[test]
    fn query_quotes_terms() {
        let q = fts_query(&["near".into(), "x\"y".into()]);
        assert_eq!(q, "\"near\" OR \"xy\"");
        assert_eq!(fts_query(&[]), "");
    }
}
