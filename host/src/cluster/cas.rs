//! Compare-and-set on one bucket entry: read it, compute the next value with a pure
//! transition (a lease, a ledger), write it only if nobody wrote in between, else read again.

use super::error::ClusterError;
use async_nats::jetstream::kv;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// How often a conflicting write is retried before giving up.
const ATTEMPTS: u32 = 100;

/// The value stored under `key` (`None`: no entry) and its revision.
pub(super) async fn read<T: DeserializeOwned>(
    store: &kv::Store,
    key: &str,
) -> Result<(Option<T>, Option<u64>), ClusterError> {
    let entry = store
        .entry(key)
        .await
        .map_err(|e| ClusterError::js(&format!("read {key}"), e))?;
    match entry {
        Some(e) if matches!(e.operation, kv::Operation::Put) => {
            let value =
                serde_json::from_slice(&e.value).map_err(|err| ClusterError::data(key, err))?;
            Ok((Some(value), Some(e.revision)))
        }
        Some(e) => Ok((None, Some(e.revision))),
        None => Ok((None, None)),
    }
}

/// Applies `next` to the value under `key` through compare-and-set and returns what was
/// written. `next` may be called several times (once per conflicting write); its error stops
/// the loop and is returned.
pub(super) async fn apply<T, E>(
    store: &kv::Store,
    key: &str,
    next: impl Fn(Option<&T>) -> Result<T, E>,
) -> Result<T, ClusterError>
where
    T: Serialize + DeserializeOwned,
    E: Into<ClusterError>,
{
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        let (current, revision) = match read::<T>(store, key).await {
            Ok(r) => r,
            // A node failing over: read again.
            Err(e @ ClusterError::JetStream { .. }) => {
                last = e.to_string();
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let value = next(current.as_ref()).map_err(Into::into)?;
        let bytes: bytes::Bytes = serde_json::to_vec(&value)
            .map_err(|e| ClusterError::data(key, e))?
            .into();
        let written = match revision {
            Some(r) => store.update(key, bytes, r).await.map_err(|e| e.to_string()),
            None => store.create(key, bytes).await.map_err(|e| e.to_string()),
        };
        match written {
            Ok(_) => return Ok(value),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(2 + u64::from(attempt % 10) * 3)).await;
    }
    Err(ClusterError::js(
        &format!("compare-and-set {key}"),
        format!("{ATTEMPTS} conflicting writes in a row; last: {last}"),
    ))
}
