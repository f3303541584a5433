//! Cached partitions over Arrow Flight: the executors serve what their store holds, and a task
//! on another executor fetches a partition from its holder.
//!
//! A partition's ticket is `ardent-cache/<key>/<partition>`. An executor's Flight service
//! (Ballista's, which serves shuffle files) is wrapped by `crate::distributed::flight`, which
//! answers these tickets and the actions below and passes everything else to Ballista's.

use std::time::Duration;

use arrow_flight::{FlightClient, Ticket};
use datafusion::arrow::record_batch::RecordBatch;
use futures::TryStreamExt;

use super::store::PartitionKey;

/// The ticket prefix of a cached partition.
pub const TICKET_PREFIX: &str = "ardent-cache/";
/// The action answering an executor's [`super::locate::Inventory`] as JSON.
pub const INVENTORY_ACTION: &str = "ardent-cache-inventory";
/// The action dropping the cache keys that start with its body (a cache's `id.`).
pub const DROP_ACTION: &str = "ardent-cache-drop";

/// The ticket of `key`.
pub fn ticket(key: &PartitionKey) -> String {
    format!("{TICKET_PREFIX}{}/{}", key.cache, key.partition)
}

/// The partition a ticket names, when it names one.
pub fn parse_ticket(ticket: &[u8]) -> Option<PartitionKey> {
    let text = std::str::from_utf8(ticket)
        .ok()?
        .strip_prefix(TICKET_PREFIX)?;
    let (cache, partition) = text.rsplit_once('/')?;
    Some(PartitionKey {
        cache: cache.to_string(),
        partition: partition.parse().ok()?,
    })
}

/// Why a holder could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot reach the executor at {address}: {message}")]
    Connect { address: String, message: String },
    #[error("the executor at {address} failed to serve {what}: {message}")]
    Serve {
        address: String,
        what: String,
        message: String,
    },
}

/// A Flight client of the executor at `host:port`.
pub async fn connect(host: &str, port: u16) -> Result<FlightClient, FetchError> {
    let address = format!("{host}:{port}");
    let failed = |message: String| FetchError::Connect {
        address: address.clone(),
        message,
    };
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .map_err(|e| failed(e.to_string()))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| failed(e.to_string()))?;
    Ok(FlightClient::new(channel))
}

/// Partition `key` from the executor at `host:port`; `None` when it no longer holds it.
pub async fn fetch_partition(
    host: &str,
    port: u16,
    key: &PartitionKey,
) -> Result<Option<Vec<RecordBatch>>, FetchError> {
    let mut client = connect(host, port).await?;
    let served = |e: arrow_flight::error::FlightError| FetchError::Serve {
        address: format!("{host}:{port}"),
        what: ticket(key),
        message: e.to_string(),
    };
    let stream = match client.do_get(Ticket::new(ticket(key))).await {
        Ok(stream) => stream,
        Err(arrow_flight::error::FlightError::Tonic(status))
            if status.code() == tonic::Code::NotFound =>
        {
            return Ok(None)
        }
        Err(e) => return Err(served(e)),
    };
    stream.try_collect().await.map(Some).map_err(served)
}

/// What the executor at `host:port` holds.
pub async fn inventory(host: &str, port: u16) -> Result<super::locate::Inventory, FetchError> {
    let body = action(host, port, INVENTORY_ACTION, Vec::new()).await?;
    serde_json::from_slice(&body).map_err(|e| FetchError::Serve {
        address: format!("{host}:{port}"),
        what: INVENTORY_ACTION.to_string(),
        message: e.to_string(),
    })
}

/// Drops the executor's partitions whose key starts with `prefix`; returns how many.
pub async fn drop_partitions(host: &str, port: u16, prefix: &str) -> Result<usize, FetchError> {
    let body = action(host, port, DROP_ACTION, prefix.as_bytes().to_vec()).await?;
    Ok(String::from_utf8_lossy(&body).parse().unwrap_or(0))
}

async fn action(host: &str, port: u16, kind: &str, body: Vec<u8>) -> Result<Vec<u8>, FetchError> {
    let mut client = connect(host, port).await?;
    let served = |e: arrow_flight::error::FlightError| FetchError::Serve {
        address: format!("{host}:{port}"),
        what: kind.to_string(),
        message: e.to_string(),
    };
    let results: Vec<_> = client
        .do_action(arrow_flight::Action::new(kind, body))
        .await
        .map_err(served)?
        .try_collect()
        .await
        .map_err(served)?;
    Ok(results.concat())
}
