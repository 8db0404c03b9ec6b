//! Keeping a tool-calling conversation within the model's context (`context_tokens` of its
//! config): the size of the next request is estimated from the provider's own count of the
//! last prompt (its usage fields) plus what was added since (about four bytes a token); when it
//! would pass the budget less room for the answer, older tool outputs are cut to a short head
//! — the goal and the latest turn's results are kept whole. Pure: no I/O, no model.

use crate::model::ChatMessage;

/// Bytes per token in the estimate.
const BYTES_PER_TOKEN: u64 = 4;

/// What an older tool output is cut to, in bytes.
const KEPT_BYTES: usize = 160;

/// The share of the context a prompt may fill: the rest is room for the answer.
const PROMPT_SHARE: f64 = 0.8;

/// Estimated tokens of `text`.
pub fn tokens_of(text: &str) -> u64 {
    (text.len() as u64).div_ceil(BYTES_PER_TOKEN)
}

/// Estimated tokens of messages.
pub fn estimate(messages: &[ChatMessage]) -> u64 {
    messages
        .iter()
        .map(|m| match m {
            ChatMessage::User(t) => tokens_of(t) + 4,
            ChatMessage::Assistant { text, calls } => {
                tokens_of(text)
                    + calls
                        .iter()
                        .map(|c| tokens_of(&c.name) + tokens_of(&c.arguments) + 8)
                        .sum::<u64>()
                    + 4
            }
            ChatMessage::Tool { content, .. } => tokens_of(content) + 8,
        })
        .sum()
}

/// The prompt tokens a context of `context_tokens` allows.
pub fn prompt_limit(context_tokens: u64) -> u64 {
    (context_tokens as f64 * PROMPT_SHARE) as u64
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    /// Tool outputs cut.
    pub cut: usize,
    /// Estimated tokens removed.
    pub saved: u64,
}

/// Cuts the tool outputs before the latest assistant turn, oldest first, until `over` estimated
/// tokens are saved (or nothing older is left to cut).
pub fn compact(messages: &mut [ChatMessage], over: u64) -> Compacted {
    let latest = messages
        .iter()
        .rposition(|m| matches!(m, ChatMessage::Assistant { .. }))
        .unwrap_or(0);
    let mut done = Compacted { cut: 0, saved: 0 };
    for m in messages[..latest].iter_mut() {
        if done.saved >= over {
            break;
        }
        let ChatMessage::Tool { content, .. } = m else {
            continue;
        };
        if content.len() <= KEPT_BYTES + 64 {
            continue;
        }
        let mut end = KEPT_BYTES;
        while !content.is_char_boundary(end) {
            end -= 1;
        }
        let short = format!(
            "{}… [cut to fit the context: {} bytes in all]",
            &content[..end],
            content.len()
        );
        done.saved += tokens_of(content).saturating_sub(tokens_of(&short));
        done.cut += 1;
        *content = short;
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ToolCall;

    fn tool(n: usize) -> ChatMessage {
        ChatMessage::Tool {
            call_id: "c".into(),
            name: "fs__read".into(),
            content: "x".repeat(n),
        }
    }

    fn assistant() -> ChatMessage {
        ChatMessage::Assistant {
            text: String::new(),
            calls: vec![ToolCall {
                id: "c".into(),
                name: "fs__read".into(),
                arguments: "{}".into(),
            }],
        }
    }

    #[test]
    fn older_outputs_are_cut_the_goal_and_the_latest_kept() {
        let mut m = vec![
            ChatMessage::User("the goal".into()),
            assistant(),
            tool(4000),
            assistant(),
            tool(4000),
        ];
        let before = estimate(&m);
        let done = compact(&mut m, 500);
        assert_eq!(done.cut, 1);
        assert!(done.saved >= 900, "{done:?}");
        assert_eq!(estimate(&m), before - done.saved);
        assert!(
            matches!(&m[2], ChatMessage::Tool { content, .. } if content.contains("4000 bytes in all"))
        );
        assert!(matches!(&m[4], ChatMessage::Tool { content, .. } if content.len() == 4000));
        assert_eq!(m[0], ChatMessage::User("the goal".into()));
        // Nothing older left: nothing more is cut.
        assert_eq!(compact(&mut m, 500).cut, 0);
        assert_eq!(prompt_limit(1000), 800);
    }
}
