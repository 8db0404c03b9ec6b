//! Provider failover (`[model] fallback = ["NAME", …]`): a chain of models that answers as one
//! provider. When the model in use is out (the request failed or timed out after its
//! retries), kept failing with 429/5xx after its retries, answered another 5xx, or the prompt
//! overflowed its context, the next model of the chain answers the same request and continues
//! the run. What each model used, and every switch with its reason, is kept for the trace and
//! the report.

use super::api::{ModelError, Provider};
use super::chat::{ChatRequest, ChatTurn, FailoverLog, ModelUse, Switch, TurnWatch, Usage};
use super::section::Prices;
use std::sync::{Arc, Mutex};

/// One model of a chain: its name, its provider and its prices.
pub type Link = (String, Arc<dyn Provider>, Option<Prices>);

/// A chain of models answering as one provider.
pub struct Failover {
    links: Vec<Link>,
    log: Mutex<(usize, FailoverLog)>,
}

/// Whether `e` means the model is out for now (the next one should answer).
pub fn fails_over(e: &ModelError) -> bool {
    matches!(
        e,
        ModelError::Exhausted { .. }
            | ModelError::ContextOverflow(_)
            | ModelError::Http {
                status: 500..=599,
                ..
            }
    )
}

impl Failover {
    /// A chain of `links`, the first in use.
    pub fn new(links: Vec<Link>) -> Failover {
        let models = links
            .iter()
            .map(|(name, _, _)| ModelUse {
                model: name.clone(),
                requests: 0,
                usage: Usage::default(),
                price: None,
            })
            .collect();
        let current = links.first().map(|l| l.0.clone()).unwrap_or_default();
        Failover {
            links,
            log: Mutex::new((
                0,
                FailoverLog {
                    current,
                    switches: Vec::new(),
                    models,
                },
            )),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, FailoverLog)> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts an answer of model `i`.
    fn answered(&self, i: usize, usage: Usage) {
        let prices = self.links.get(i).and_then(|l| l.2);
        let mut g = self.lock();
        if let Some(m) = g.1.models.get_mut(i) {
            m.requests += 1;
            m.usage.input_tokens += usage.input_tokens;
            m.usage.output_tokens += usage.output_tokens;
            m.price = prices.map(|p| {
                (m.usage.input_tokens as f64 * p.input_per_mtok
                    + m.usage.output_tokens as f64 * p.output_per_mtok)
                    / 1e6
            });
        }
    }

    /// Moves from model `i` to the next after `e`; `false` when `i` is the last.
    fn switch(&self, i: usize, e: &ModelError) -> bool {
        let (Some(from), Some(to)) = (self.links.get(i), self.links.get(i + 1)) else {
            return false;
        };
        let mut g = self.lock();
        if g.0 == i {
            g.0 = i + 1;
            g.1.current = to.0.clone();
            g.1.switches.push(Switch {
                from: from.0.clone(),
                to: to.0.clone(),
                reason: e.to_string(),
            });
        }
        true
    }

    /// Runs `ask` on the model in use, and on the next ones while a model is out.
    async fn each<T, F, Fut>(&self, ask: F) -> Result<T, ModelError>
    where
        F: Fn(Arc<dyn Provider>) -> Fut,
        Fut: std::future::Future<Output = Result<(T, Usage), ModelError>>,
    {
        let mut i = self.lock().0;
        loop {
            let Some(link) = self.links.get(i) else {
                return Err(ModelError::Protocol(
                    "no model in the failover chain".into(),
                ));
            };
            match ask(link.1.clone()).await {
                Ok((answer, usage)) => {
                    self.answered(i, usage);
                    return Ok(answer);
                }
                Err(e) if fails_over(&e) && self.switch(i, &e) => i += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

#[async_trait::async_trait]
impl Provider for Failover {
    async fn complete_json(
        &self,
        system: &str,
        user: &str,
        schema_name: &str,
        schema: &serde_json::Value,
    ) -> Result<(serde_json::Value, Usage), ModelError> {
        self.each(|p| async move {
            let (v, u) = p.complete_json(system, user, schema_name, schema).await?;
            Ok(((v, u), u))
        })
        .await
    }

    async fn chat(
        &self,
        request: &ChatRequest,
        watch: &dyn TurnWatch,
    ) -> Result<ChatTurn, ModelError> {
        self.each(|p| async move {
            let turn = p.chat(request, watch).await?;
            let u = turn.usage;
            Ok((turn, u))
        })
        .await
    }

    fn failover(&self) -> Option<FailoverLog> {
        Some(self.lock().1.clone())
    }
}
