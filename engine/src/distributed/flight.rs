//! The executor's Arrow Flight service: Ballista's (shuffle files), with the cache's tickets and
//! actions answered first (see [`crate::cache::flight`]).

use std::pin::Pin;

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use futures::{Stream, StreamExt, TryStreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::cache::flight::{parse_ticket, DROP_ACTION, INVENTORY_ACTION};
use crate::cache::locate::Inventory;
use crate::cache::store::{Lookup, PartitionStore};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// `inner` (Ballista's `BallistaFlightService`) with the executor's cached partitions served
/// beside it. Generic over the inner service so that the engine does not depend on Ballista's
/// executor crate.
#[derive(Debug)]
pub struct CacheFlightService<S> {
    inner: S,
}

impl<S> CacheFlightService<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

/// Runs a store call on the blocking pool (spill files are read under the store's lock).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("cache store task failed: {e}")))
}

fn boxed<T: Send + 'static>(
    stream: impl Stream<Item = Result<T, Status>> + Send + 'static,
) -> BoxStream<T> {
    Box::pin(stream)
}

#[tonic::async_trait]
impl<S: FlightService> FlightService for CacheFlightService<S> {
    type HandshakeStream = BoxStream<HandshakeResponse>;
    type ListFlightsStream = BoxStream<FlightInfo>;
    type DoGetStream = BoxStream<FlightData>;
    type DoPutStream = BoxStream<PutResult>;
    type DoExchangeStream = BoxStream<FlightData>;
    type DoActionStream = BoxStream<arrow_flight::Result>;
    type ListActionsStream = BoxStream<ActionType>;

    async fn handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        let response = self.inner.handshake(request).await?;
        Ok(response.map(boxed))
    }

    async fn list_flights(
        &self,
        request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        Ok(self.inner.list_flights(request).await?.map(boxed))
    }

    async fn get_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.inner.get_flight_info(request).await
    }

    async fn poll_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        self.inner.poll_flight_info(request).await
    }

    async fn get_schema(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        self.inner.get_schema(request).await
    }

    /// A cached partition's ticket is served from this executor's store (`NotFound` when it
    /// does not hold it); any other ticket is Ballista's.
    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        let Some(key) = parse_ticket(&request.get_ref().ticket) else {
            return Ok(self.inner.do_get(request).await?.map(boxed));
        };
        let shown = format!("partition {} of cache {}", key.partition, key.cache);
        let lookup = blocking(move || PartitionStore::global().get(&key)).await?;
        let batches = match lookup.map_err(|e| Status::internal(e.to_string()))? {
            Lookup::Hit(batches) => batches,
            Lookup::Evicted | Lookup::Absent => {
                return Err(Status::not_found(format!(
                    "this executor does not hold {shown}"
                )))
            }
        };
        let stream = FlightDataEncoderBuilder::new()
            .build(futures::stream::iter(batches.into_iter().map(Ok)))
            .map_err(|e| Status::internal(e.to_string()));
        Ok(Response::new(boxed(stream)))
    }

    async fn do_put(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        Ok(self.inner.do_put(request).await?.map(boxed))
    }

    async fn do_exchange(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        Ok(self.inner.do_exchange(request).await?.map(boxed))
    }

    /// The cache's actions: the inventory (JSON) and dropping a cache's partitions; others are
    /// Ballista's.
    async fn do_action(
        &self,
        request: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        let action = request.get_ref();
        let body = match action.r#type.as_str() {
            INVENTORY_ACTION => {
                let inventory = blocking(|| Inventory::of(PartitionStore::global())).await?;
                serde_json::to_vec(&inventory).map_err(|e| Status::internal(e.to_string()))?
            }
            DROP_ACTION => {
                let prefix = String::from_utf8(action.body.to_vec())
                    .map_err(|_| Status::invalid_argument("a cache id is UTF-8 text"))?;
                if prefix.is_empty() {
                    return Err(Status::invalid_argument("no cache id to drop"));
                }
                let dropped =
                    blocking(move || PartitionStore::global().remove_cache(&prefix)).await?;
                dropped.to_string().into_bytes()
            }
            _ => return Ok(self.inner.do_action(request).await?.map(boxed)),
        };
        let result = arrow_flight::Result { body: body.into() };
        Ok(Response::new(boxed(futures::stream::once(async {
            Ok(result)
        }))))
    }

    async fn list_actions(
        &self,
        request: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        let ours = [
            (
                INVENTORY_ACTION,
                "the cached partitions this executor holds, as JSON",
            ),
            (
                DROP_ACTION,
                "drop the cached partitions whose key starts with the body",
            ),
        ]
        .map(|(kind, description)| {
            Ok(ActionType {
                r#type: kind.to_string(),
                description: description.to_string(),
            })
        });
        let inner = self.inner.list_actions(request).await?.into_inner();
        Ok(Response::new(boxed(
            futures::stream::iter(ours).chain(inner),
        )))
    }
}
