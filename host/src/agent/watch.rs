//! What the tool-calling loop shows while the model answers: its text as it streams in, on a
//! live line ([`LiveText`], `spud run`'s stderr), with registered secrets redacted — one split
//! across two pieces too (a tail is held back until it cannot be part of a secret) — and which
//! models' servers cannot stream (each traced once, as `streaming_off`).

use super::context::Ctx;
use crate::model::TurnWatch;
use crate::plan::TraceEvent;
use spud_policy::PieceRedactor;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// One event of the live line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live<'a> {
    /// More of the model's text (redacted).
    Text(&'a str),
    /// The model's turn ended (after some text).
    End,
}

/// Where a run shows the model's text as it arrives.
#[derive(Clone)]
pub struct LiveText(Arc<dyn Fn(Live<'_>) + Send + Sync>);

impl LiveText {
    /// A live line that hands each event to `show`.
    pub fn new(show: impl Fn(Live<'_>) + Send + Sync + 'static) -> LiveText {
        LiveText(Arc::new(show))
    }

    fn show(&self, live: Live<'_>) {
        (self.0)(live)
    }
}

impl std::fmt::Debug for LiveText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveText")
    }
}

/// The text of the turn being answered: the redactor, and whether any text was shown.
struct Turn {
    pieces: PieceRedactor,
    shown: bool,
}

/// A run's [`TurnWatch`].
pub(super) struct Watch {
    ctx: Arc<Ctx>,
    live: Option<LiveText>,
    turn: Mutex<Turn>,
    off: Mutex<BTreeSet<String>>,
}

impl Watch {
    /// The watch of the run `ctx`, showing text on `live` (none: nothing is shown).
    pub fn new(ctx: Arc<Ctx>, live: Option<LiveText>) -> Watch {
        let pieces = PieceRedactor::new(ctx.spud.secrets());
        Watch {
            ctx,
            live,
            turn: Mutex::new(Turn {
                pieces,
                shown: false,
            }),
            off: Mutex::new(BTreeSet::new()),
        }
    }

    fn turn(&self) -> std::sync::MutexGuard<'_, Turn> {
        self.turn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The turn ended: the text held back is shown, and the line ends.
    pub fn end_turn(&self) {
        let Some(live) = &self.live else {
            return;
        };
        let mut t = self.turn();
        let rest = t.pieces.finish();
        if !rest.is_empty() {
            live.show(Live::Text(&rest));
            t.shown = true;
        }
        if std::mem::take(&mut t.shown) {
            live.show(Live::End);
        }
    }
}

impl TurnWatch for Watch {
    fn text(&self, piece: &str) {
        let Some(live) = &self.live else {
            return;
        };
        let mut t = self.turn();
        let shown = t.pieces.push(piece);
        if !shown.is_empty() {
            live.show(Live::Text(&shown));
            t.shown = true;
        }
    }

    fn streaming_off(&self, model: &str) -> bool {
        self.off
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(model)
    }

    fn turn_off(&self, model: &str, reason: &str) {
        let new = self
            .off
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(model.to_string());
        if new {
            self.ctx.emit(TraceEvent::StreamingOff {
                model: model.to_string(),
                reason: reason.to_string(),
            });
        }
    }
}
