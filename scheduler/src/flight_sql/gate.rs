//! The public Flight SQL service: Ballista's frontend behind a gate that adds what a port facing
//! many users needs.
//!
//! - **Sessions with an owner and an idle expiry.** The handshake's token names one session,
//!   opened at once so that its user and session id are known here; a token idle for
//!   longer than `--session-idle-seconds` is refused.
//! - **Tickets bound to their session.** Every endpoint handed out carries a random ticket of
//!   this gate's, redeemable only with the token it was issued to. Raw Ballista partition tickets
//!   and forged tickets (which would make the scheduler fetch from any host named in them) are
//!   refused.
//! - **Refused handshakes rate-limited per client address**, so passwords cannot be guessed fast.
//! - **`COPY (query) TO 'path'` on the cluster.** Ballista's frontend refuses COPY; the gate
//!   plans it in the caller's session and runs it as a job, so the executors write the files.
//! - **Maps from SQL**: `COPY (query) TO 'map.tif' STORED AS GEOTIFF OPTIONS ('grid' 'table',
//!   'column' 'c')` runs the query on the cluster and writes the map here, on the scheduler.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ardent_engine::cache::run::{execute_with, result_schema, Fill};
use ardent_engine::cache::statement::CacheStatement;
use ardent_engine::map::MapCopy;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, Any, CommandGetCatalogs, CommandPreparedStatementQuery,
    CommandStatementQuery, CommandStatementUpdate, DoPutUpdateResult, ProstMessageExt,
    TicketStatementQuery,
};
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightEndpoint, FlightInfo,
    HandshakeRequest, HandshakeResponse, IpcMessage, PollInfo, PutResult, SchemaAsIpc,
    SchemaResult, Ticket,
};
use ballista_core::flight_proxy_service::BallistaFlightProxyService;
use ballista_core::serde::protobuf::{self, PartitionLocation};
use ballista_core::serde::scheduler::{Action as BallistaAction, ShuffleFileKind};
use ballista_flight_sql::{BallistaFlightSqlService, QueryBackend};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Schema, SchemaRef, UInt64Type};
use datafusion::arrow::ipc::writer::IpcWriteOptions;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement;
use futures::{Stream, TryStreamExt};
use prost::Message;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status, Streaming};

use super::backend::{ArdentBackend, CallJob};

type Frontend = BallistaFlightSqlService<ArdentBackend>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The token-less session's key, when the server takes anonymous clients (no `--users`).
const ANONYMOUS: &str = "";

/// Refused handshakes a client address may make in a burst, and per second after it; beyond
/// them its handshakes are refused unheard, so passwords cannot be guessed fast.
const REFUSALS_BURST: f64 = 10.0;
const REFUSALS_PER_SECOND: f64 = 0.5;

/// Prefix of the statement handles and ticket handles this gate issues itself.
const GATE_HANDLE: &str = "ardent:";

tokio::task_local! {
    /// What a handshake learns while Ballista's frontend runs it: the user the authenticator
    /// accepted and the context the backend built for the new session.
    static OPENING: RefCell<Opening>;
}

tokio::task_local! {
    /// The job a Flight SQL call submits through Ballista's frontend: its user, and its name
    /// for the scheduler's job list (the frontend would name every prepared statement's job
    /// alike).
    static CALL_JOB: CallJob;
}

/// The job the backend is submitting, if a call of the gate set one.
pub(super) fn job_of_call() -> Option<CallJob> {
    CALL_JOB.try_with(CallJob::clone).ok()
}

#[derive(Default)]
struct Opening {
    user: Option<String>,
    session_id: Option<String>,
}

/// Called by the authenticator: the user of the handshake being served.
pub(super) fn note_user(user: &str) {
    let _ = OPENING.try_with(|o| o.borrow_mut().user = Some(user.to_string()));
}

/// Called by the backend: the id of the session being opened.
pub(super) fn note_session(session_id: &str) {
    let _ = OPENING.try_with(|o| o.borrow_mut().session_id = Some(session_id.to_string()));
}

struct Session {
    user: Option<String>,
    /// The frontend's session id; its context is the backend's to keep.
    session_id: String,
    /// Milliseconds since the Unix epoch.
    opened_at_ms: u64,
    last_used: Instant,
}

/// A live Flight SQL session, as the web UI lists it (never its token: that is the secret).
#[derive(Clone, Debug, serde::Serialize)]
pub struct SessionInfo {
    /// The user who opened it; none on a scheduler without users.
    pub user: Option<String>,
    /// The frontend's id of the session.
    pub session_id: String,
    /// Milliseconds since the Unix epoch.
    pub opened_at_ms: u64,
    pub idle_ms: u64,
    /// The jobs running for it now.
    pub running_jobs: Vec<String>,
}

/// What a ticket of this gate stands for.
#[derive(Clone)]
enum Redeem {
    /// A ticket of Ballista's frontend, redeemed there with the caller's token.
    Frontend(bytes::Bytes),
    /// A partition of a job the gate ran itself (COPY), fetched from its executor.
    Partition(bytes::Bytes),
    /// A result the gate computed itself (a map's summary row).
    Batches(Vec<RecordBatch>),
}

struct Issued {
    token: String,
    redeem: Redeem,
}

/// A statement the gate runs itself, prepared by a client.
struct OwnStatement {
    token: String,
    sql: String,
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, Session>,
    tickets: HashMap<String, Issued>,
    statements: HashMap<String, OwnStatement>,
    /// The SQL of statements prepared by Ballista's frontend, by handle: it names their jobs.
    prepared_sql: HashMap<String, OwnStatement>,
    handshakes: HashMap<IpAddr, (f64, Instant)>,
}

/// The caller of a request: its session's key (token) and what the gate knows of it.
struct Caller {
    token: String,
    user: Option<String>,
    ctx: Arc<SessionContext>,
}

pub struct Gate {
    frontend: Frontend,
    backend: Arc<ArdentBackend>,
    proxy: BallistaFlightProxyService,
    state: Mutex<State>,
    idle: Duration,
    anonymous: bool,
}

impl Gate {
    pub fn new(
        frontend: Frontend,
        backend: Arc<ArdentBackend>,
        proxy: BallistaFlightProxyService,
        idle: Duration,
    ) -> Self {
        let anonymous = frontend.allows_anonymous();
        Gate {
            frontend,
            backend,
            proxy,
            state: Mutex::new(State::default()),
            idle,
            anonymous,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves maps that are still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The caller's session, refreshed; UNAUTHENTICATED without a live token.
    async fn caller(&self, metadata: &MetadataMap) -> Result<Caller, Status> {
        let token = match bearer_token(metadata) {
            Some(token) => token,
            None if self.anonymous => {
                if !self.state().sessions.contains_key(ANONYMOUS) {
                    self.open(ANONYMOUS, None).await?;
                }
                ANONYMOUS.to_string()
            }
            None => {
                return Err(Status::unauthenticated(
                    "missing bearer token; authenticate with the Flight handshake first",
                ))
            }
        };
        self.expire_idle().await;
        let expired = || {
            Status::unauthenticated("unknown or expired session token; re-run the Flight handshake")
        };
        let (user, session_id) = {
            let mut state = self.state();
            let session = state.sessions.get_mut(&token).ok_or_else(expired)?;
            session.last_used = Instant::now();
            (session.user.clone(), session.session_id.clone())
        };
        let ctx = match self.backend.context(&session_id) {
            Some(ctx) => ctx,
            // Ballista's frontend let the shared anonymous session go: it opens it again.
            None if token == ANONYMOUS => {
                self.open(ANONYMOUS, None).await?;
                self.backend.context(&session_id).ok_or_else(expired)?
            }
            None => return Err(expired()),
        };
        Ok(Caller { token, user, ctx })
    }

    /// Opens the frontend's session for `token` now (its context is otherwise built lazily),
    /// learning its id, and records it.
    async fn open(&self, token: &str, user: Option<String>) -> Result<(), Status> {
        let mut request = Request::new(Ticket {
            ticket: CommandGetCatalogs {}.as_any().encode_to_vec().into(),
        });
        if token != ANONYMOUS {
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {token}")
                    .parse()
                    .map_err(|_| Status::internal("the session token is not a valid header"))?,
            );
        }
        let opened = OPENING
            .scope(RefCell::new(Opening::default()), async {
                drop(self.frontend.do_get(request).await?);
                Ok::<_, Status>(OPENING.with(|o| o.borrow_mut().session_id.take()))
            })
            .await?;
        // An anonymous session the frontend still holds is not built again: keep its id.
        let known = || {
            self.state()
                .sessions
                .get(token)
                .map(|s| s.session_id.clone())
        };
        let session_id = opened
            .or_else(known)
            .ok_or_else(|| Status::internal("the Flight SQL session was not opened"))?;
        self.state().sessions.insert(
            token.to_string(),
            Session {
                user,
                session_id,
                opened_at_ms: ardent_engine::now_ms(),
                last_used: Instant::now(),
            },
        );
        Ok(())
    }

    /// The user who submitted `job_id`, for the newest jobs.
    pub(super) fn owner(&self, job_id: &str) -> Option<String> {
        self.backend.owner(job_id)
    }

    /// The sessions alive now (not idle beyond the expiry), oldest first.
    pub(super) fn sessions(&self) -> Vec<SessionInfo> {
        let state = self.state();
        let mut sessions: Vec<SessionInfo> = state
            .sessions
            .values()
            .filter(|s| s.last_used.elapsed() <= self.idle)
            .map(|s| SessionInfo {
                user: s.user.clone(),
                session_id: s.session_id.clone(),
                opened_at_ms: s.opened_at_ms,
                idle_ms: s.last_used.elapsed().as_millis() as u64,
                running_jobs: self.backend.running_jobs(&s.session_id),
            })
            .collect();
        sessions.sort_by_key(|s| s.opened_at_ms);
        sessions
    }

    /// Ends sessions idle for too long, with their tickets and statements.
    async fn expire_idle(&self) {
        let expired: Vec<(String, Session)> = {
            let mut state = self.state();
            let idle = self.idle;
            let stale: Vec<String> = state
                .sessions
                .iter()
                // The anonymous session is shared by every token-less client: it has no token
                // to expire (Ballista's frontend lets it go after 30 idle minutes).
                .filter(|(token, s)| token.as_str() != ANONYMOUS && s.last_used.elapsed() > idle)
                .map(|(token, _)| token.clone())
                .collect();
            let expired: Vec<(String, Session)> = stale
                .into_iter()
                .filter_map(|t| state.sessions.remove_entry(&t))
                .collect();
            let State {
                sessions,
                tickets,
                statements,
                prepared_sql,
                ..
            } = &mut *state;
            tickets.retain(|_, t| sessions.contains_key(&t.token));
            statements.retain(|_, s| sessions.contains_key(&s.token));
            prepared_sql.retain(|_, s| sessions.contains_key(&s.token));
            expired
        };
        for (_, session) in expired {
            tracing::info!(
                user = session.user.as_deref().unwrap_or("anonymous"),
                session = session.session_id,
                "Flight SQL session expired"
            );
            if let Err(e) = self.backend.close_session(&session.session_id).await {
                tracing::warn!("cannot close an expired Flight SQL session: {e}");
            }
        }
    }

    /// The refusals `address` may still earn (a token bucket per client address), refilled to now.
    fn refusals_left(&self, address: IpAddr, spend: f64) -> f64 {
        let mut state = self.state();
        let now = Instant::now();
        let (tokens, at) = state
            .handshakes
            .entry(address)
            .or_insert((REFUSALS_BURST, now));
        *tokens = (*tokens + at.elapsed().as_secs_f64() * REFUSALS_PER_SECOND).min(REFUSALS_BURST);
        *at = now;
        *tokens -= spend;
        *tokens
    }

    /// Replaces every ticket of `info` with one of the gate's, for `token` only; `redeem` says
    /// what each original ticket stands for.
    fn issue(
        &self,
        token: &str,
        mut info: FlightInfo,
        redeem: impl Fn(bytes::Bytes) -> Redeem,
    ) -> FlightInfo {
        let mut state = self.state();
        for endpoint in &mut info.endpoint {
            let Some(ticket) = endpoint.ticket.take() else {
                continue;
            };
            let id = format!("{GATE_HANDLE}{}", uuid::Uuid::new_v4());
            let redeem = redeem(ticket.ticket);
            state.tickets.insert(
                id.clone(),
                Issued {
                    token: token.to_string(),
                    redeem,
                },
            );
            endpoint.ticket = Some(Ticket {
                ticket: TicketStatementQuery {
                    statement_handle: id.into_bytes().into(),
                }
                .as_any()
                .encode_to_vec()
                .into(),
            });
        }
        info
    }

    /// Runs a query of `caller`'s session on the cluster: the result's schema, and an endpoint
    /// per result partition, fetched from its executor.
    async fn run_on_cluster(
        &self,
        caller: &Caller,
        sql: &str,
    ) -> Result<(SchemaRef, Vec<FlightEndpoint>), Status> {
        let plan = plan(&caller.ctx, sql).await?;
        let result = self
            .backend
            .run(
                &CallJob::new(caller.user.as_deref(), sql),
                Arc::clone(&caller.ctx),
                plan,
            )
            .await
            .map_err(|e| Status::internal(format!("query execution failed: {e}")))?;
        let endpoints = result
            .partitions
            .into_iter()
            .map(fetch_partition)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((result.schema, endpoints))
    }

    /// Runs the query of a map on the cluster and writes the map here; its summary row.
    async fn run_map(&self, caller: &Caller, map: MapCopy) -> Result<RecordBatch, Status> {
        let (_, endpoints) = self.run_on_cluster(caller, &map.query).await?;
        let batches = self.fetch(endpoints).await?;
        tokio::task::spawn_blocking(move || map.write(&batches))
            .await
            .map_err(|e| Status::internal(format!("the map writer failed: {e}")))?
            .map_err(|e| Status::invalid_argument(e.to_string()))
    }

    /// Runs a cache statement in the caller's session; the caches it fills are filled by jobs
    /// of the cluster, named after the statement.
    async fn run_cache(
        &self,
        caller: &Caller,
        statement: CacheStatement,
        sql: &str,
    ) -> Result<RecordBatch, Status> {
        let fill = ClusterFill {
            gate: self,
            caller,
            sql,
        };
        execute_with(&caller.ctx, statement, &fill)
            .await
            .map_err(|e| match e {
                DataFusionError::Plan(_) | DataFusionError::SQL(..) => {
                    Status::invalid_argument(e.to_string())
                }
                _ => Status::internal(e.to_string()),
            })
    }

    /// The endpoint of a result the gate holds itself (redeemed from its own tickets).
    fn local_endpoint() -> FlightEndpoint {
        FlightEndpoint::new().with_ticket(Ticket::new(bytes::Bytes::new()))
    }

    /// Issues `info`'s tickets for a one-batch result the gate computed.
    fn issue_batch(&self, caller: &Caller, info: FlightInfo, batch: RecordBatch) -> FlightInfo {
        self.issue(&caller.token, info, |_| {
            Redeem::Batches(vec![batch.clone()])
        })
    }

    /// Runs a statement the gate owns and describes its result.
    async fn own_flight_info(
        &self,
        caller: &Caller,
        own: Own,
        sql: &str,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        tracing::info!(
            user = caller.user.as_deref().unwrap_or("anonymous"),
            sql,
            "Flight SQL statement"
        );
        let info = |schema: &Schema, endpoints: Vec<FlightEndpoint>| {
            FlightInfo::new()
                .try_with_schema(schema)
                .map_err(|e| Status::internal(format!("failed to encode result schema: {e}")))
                .map(|info| info.with_descriptor(descriptor).with_endpoints(endpoints))
        };
        let info = match own {
            Own::Copy => {
                let (schema, endpoints) = self.run_on_cluster(caller, sql).await?;
                self.issue(&caller.token, info(&schema, endpoints)?, Redeem::Partition)
            }
            Own::Map(map) => {
                let row = self.run_map(caller, map).await?;
                self.issue_batch(
                    caller,
                    info(&row.schema(), vec![Self::local_endpoint()])?,
                    row,
                )
            }
            Own::Cache(statement) => {
                let answer = self.run_cache(caller, statement, sql).await?;
                let info = info(&answer.schema(), vec![Self::local_endpoint()])?;
                self.issue_batch(caller, info, answer)
            }
        };
        Ok(Response::new(info))
    }

    /// `DoPut(CommandStatementUpdate)`: DDL and session statements run in the session, COPY on
    /// the cluster; statements that return rows belong to queries.
    async fn statement_update(&self, caller: &Caller, sql: &str) -> Result<i64, Status> {
        match own(&caller.ctx, sql).await? {
            Some(Own::Copy) => {
                let (_, endpoints) = self.run_on_cluster(caller, sql).await?;
                let batches = self.fetch(endpoints).await?;
                return Ok(batches
                    .iter()
                    .filter_map(|b| b.column(0).as_primitive_opt::<UInt64Type>())
                    .map(|count| count.iter().flatten().sum::<u64>() as i64)
                    .sum());
            }
            Some(Own::Map(map)) => {
                let row = self.run_map(caller, map).await?;
                let pixels = row.column(1).as_primitive_opt::<UInt64Type>();
                return Ok(pixels.map_or(-1, |p| p.value(0) as i64));
            }
            Some(Own::Cache(statement)) => {
                let answer = self.run_cache(caller, statement, sql).await?;
                return Ok(answer.num_rows() as i64);
            }
            None => {}
        }
        let plan = plan(&caller.ctx, sql).await?;
        match &plan {
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(_)) => Err(Status::unimplemented(
                "CREATE TABLE AS SELECT would run on the scheduler, not the cluster: use COPY \
                 (query) TO 'path' and CREATE EXTERNAL TABLE over what it wrote",
            )),
            LogicalPlan::Ddl(_) | LogicalPlan::Statement(_) => {
                caller
                    .ctx
                    .execute_logical_plan(plan)
                    .await
                    .map(drop)
                    .map_err(|e| Status::internal(format!("failed to execute statement: {e}")))?;
                Ok(0)
            }
            LogicalPlan::Dml(_) => Err(Status::unimplemented(
                "INSERT, UPDATE and DELETE are not supported: write results with COPY",
            )),
            _ => Err(Status::invalid_argument(
                "this statement returns rows: run it as a query, not an update",
            )),
        }
    }

    /// The batches of result partitions, fetched from their executors.
    async fn fetch(&self, endpoints: Vec<FlightEndpoint>) -> Result<Vec<RecordBatch>, Status> {
        let mut batches = Vec::new();
        for ticket in endpoints.into_iter().filter_map(|e| e.ticket) {
            let stream = self.proxy.do_get(Request::new(ticket)).await?.into_inner();
            let stream = FlightRecordBatchStream::new_from_flight_data(
                stream.map_err(arrow_flight::error::FlightError::from),
            );
            let fetched: Vec<RecordBatch> = stream
                .try_collect()
                .await
                .map_err(|e| Status::internal(format!("cannot fetch a result partition: {e}")))?;
            batches.extend(fetched);
        }
        Ok(batches)
    }
}

#[tonic::async_trait]
impl FlightService for Gate {
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
        let address = request.remote_addr().map(|a| a.ip());
        if address.is_some_and(|a| self.refusals_left(a, 0.0) < 1.0) {
            return Err(Status::resource_exhausted(
                "too many refused handshakes from this address; retry in a few seconds",
            ));
        }
        self.expire_idle().await;
        let handshake = OPENING
            .scope(RefCell::new(Opening::default()), async {
                let response = self.frontend.handshake(request).await?;
                Ok::<_, Status>((response, OPENING.with(|o| o.borrow_mut().user.take())))
            })
            .await;
        let (response, user) = match handshake {
            Ok(accepted) => accepted,
            Err(refused) => {
                if let Some(address) = address {
                    self.refusals_left(address, 1.0);
                }
                return Err(refused);
            }
        };
        let token = bearer_token(response.metadata())
            .ok_or_else(|| Status::internal("the handshake issued no token"))?;
        self.open(&token, user).await?;
        Ok(response)
    }

    async fn list_flights(
        &self,
        _request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        Err(Status::unimplemented(
            "ListFlights is not served: use Flight SQL commands",
        ))
    }

    async fn get_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let command = Any::decode(&*request.get_ref().cmd)
            .map_err(|e| Status::invalid_argument(format!("invalid Flight SQL command: {e}")))?;
        if let Some(query) = unpack::<CommandStatementQuery>(&command)? {
            if let Some(own) = own(&caller.ctx, &query.query).await? {
                return self
                    .own_flight_info(&caller, own, &query.query, request.into_inner())
                    .await;
            }
        }
        if let Some(prepared) = unpack::<CommandPreparedStatementQuery>(&command)? {
            let handle = String::from_utf8_lossy(&prepared.prepared_statement_handle).to_string();
            if handle.starts_with(GATE_HANDLE) {
                let sql = self
                    .state()
                    .statements
                    .get(&handle)
                    .filter(|s| s.token == caller.token)
                    .map(|s| s.sql.clone())
                    .ok_or_else(|| {
                        Status::not_found("unknown or expired prepared statement handle")
                    })?;
                let own = own(&caller.ctx, &sql).await?.ok_or_else(|| {
                    Status::internal("a prepared statement of the gate is no longer its own")
                })?;
                return self
                    .own_flight_info(&caller, own, &sql, request.into_inner())
                    .await;
            }
        }
        let sql = match unpack::<CommandStatementQuery>(&command)? {
            Some(query) => Some(query.query),
            None => unpack::<CommandPreparedStatementQuery>(&command)?.and_then(|prepared| {
                let handle = String::from_utf8_lossy(&prepared.prepared_statement_handle);
                let state = self.state();
                state
                    .prepared_sql
                    .get(handle.as_ref())
                    .map(|s| s.sql.clone())
            }),
        };
        let job = CallJob::new(
            caller.user.as_deref(),
            sql.as_deref().unwrap_or("Flight SQL statement"),
        );
        let info = CALL_JOB
            .scope(job, self.frontend.get_flight_info(request))
            .await?
            .into_inner();
        Ok(Response::new(self.issue(
            &caller.token,
            info,
            Redeem::Frontend,
        )))
    }

    async fn poll_flight_info(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        Err(Status::unimplemented(
            "PollFlightInfo is not served: use GetFlightInfo",
        ))
    }

    async fn get_schema(
        &self,
        _request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        Err(Status::unimplemented(
            "GetSchema is not served: prepare the statement to learn its schema",
        ))
    }

    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let refused = || {
            Status::permission_denied(
                "unknown ticket: this server redeems only the tickets it issued to your session",
            )
        };
        let handle = Any::decode(&*request.get_ref().ticket)
            .ok()
            .and_then(|any| any.unpack::<TicketStatementQuery>().ok().flatten())
            .map(|t| String::from_utf8_lossy(&t.statement_handle).to_string())
            .ok_or_else(refused)?;
        let redeem = {
            let state = self.state();
            let issued = state
                .tickets
                .get(&handle)
                .filter(|t| t.token == caller.token)
                .ok_or_else(refused)?;
            issued.redeem.clone()
        };
        match redeem {
            Redeem::Frontend(ticket) => {
                let (metadata, extensions, _) = request.into_parts();
                self.frontend
                    .do_get(Request::from_parts(metadata, extensions, Ticket { ticket }))
                    .await
            }
            Redeem::Partition(ticket) => self.proxy.do_get(Request::new(Ticket { ticket })).await,
            Redeem::Batches(batches) => {
                let schema = batches
                    .first()
                    .map(|b| b.schema())
                    .unwrap_or_else(|| Arc::new(Schema::empty()));
                let stream = FlightDataEncoderBuilder::new()
                    .with_schema(schema)
                    .build(futures::stream::iter(batches.into_iter().map(Ok)))
                    .map_err(|e| Status::internal(format!("failed to encode results: {e}")));
                Ok(Response::new(Box::pin(stream)))
            }
        }
    }

    async fn do_put(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let mut stream = request.into_inner();
        let first = stream
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("DoPut without a command"))?;
        let descriptor = first
            .flight_descriptor
            .ok_or_else(|| Status::invalid_argument("DoPut without a flight descriptor"))?;
        let command = Any::decode(&*descriptor.cmd)
            .map_err(|e| Status::invalid_argument(format!("invalid Flight SQL command: {e}")))?;
        let update = unpack::<CommandStatementUpdate>(&command)?.ok_or_else(|| {
            Status::unimplemented(
                "only statement updates are taken (no bound parameters or bulk ingestion)",
            )
        })?;
        let record_count = self.statement_update(&caller, &update.query).await?;
        let result = PutResult {
            app_metadata: DoPutUpdateResult { record_count }.encode_to_vec().into(),
        };
        Ok(Response::new(Box::pin(futures::stream::iter([Ok(result)]))))
    }

    async fn do_exchange(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        Err(Status::unimplemented("DoExchange is not served"))
    }

    async fn do_action(
        &self,
        request: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let action = request.get_ref();
        let body = || {
            Any::decode(&*action.body)
                .map_err(|e| Status::invalid_argument(format!("invalid action body: {e}")))
        };
        match action.r#type.as_str() {
            "CreatePreparedStatement" => {
                let create =
                    unpack::<ActionCreatePreparedStatementRequest>(&body()?)?.ok_or_else(|| {
                        Status::invalid_argument("expected ActionCreatePreparedStatementRequest")
                    })?;
                if let Some(own) = own(&caller.ctx, &create.query).await? {
                    let schema = match own {
                        Own::Copy => plan(&caller.ctx, &create.query)
                            .await?
                            .schema()
                            .as_arrow()
                            .clone(),
                        Own::Map(_) => MapCopy::result_schema().as_ref().clone(),
                        Own::Cache(statement) => result_schema(&statement).as_ref().clone(),
                    };
                    let handle = format!("{GATE_HANDLE}{}", uuid::Uuid::new_v4());
                    self.state().statements.insert(
                        handle.clone(),
                        OwnStatement {
                            token: caller.token.clone(),
                            sql: create.query,
                        },
                    );
                    let result = ActionCreatePreparedStatementResult {
                        prepared_statement_handle: handle.into_bytes().into(),
                        dataset_schema: encode_schema(&schema)?.into(),
                        parameter_schema: encode_schema(&Schema::empty())?.into(),
                    };
                    let body = result.as_any().encode_to_vec();
                    return Ok(Response::new(Box::pin(futures::stream::iter([Ok(
                        arrow_flight::Result { body: body.into() },
                    )]))));
                }
                let results: Vec<arrow_flight::Result> = self
                    .frontend
                    .do_action(request)
                    .await?
                    .into_inner()
                    .try_collect()
                    .await?;
                let created = results
                    .first()
                    .and_then(|r| Any::decode(&*r.body).ok())
                    .and_then(|any| {
                        any.unpack::<ActionCreatePreparedStatementResult>()
                            .ok()
                            .flatten()
                    });
                if let Some(created) = created {
                    let handle = String::from_utf8_lossy(&created.prepared_statement_handle);
                    self.state().prepared_sql.insert(
                        handle.to_string(),
                        OwnStatement {
                            token: caller.token.clone(),
                            sql: create.query,
                        },
                    );
                }
                return Ok(Response::new(Box::pin(futures::stream::iter(
                    results.into_iter().map(Ok),
                ))));
            }
            "ClosePreparedStatement" => {
                let close =
                    unpack::<ActionClosePreparedStatementRequest>(&body()?)?.ok_or_else(|| {
                        Status::invalid_argument("expected ActionClosePreparedStatementRequest")
                    })?;
                let handle = String::from_utf8_lossy(&close.prepared_statement_handle).to_string();
                let mut state = self.state();
                remove_owned(&mut state.prepared_sql, &handle, &caller.token);
                if handle.starts_with(GATE_HANDLE) {
                    remove_owned(&mut state.statements, &handle, &caller.token);
                    return Ok(Response::new(Box::pin(futures::stream::empty())));
                }
                drop(state);
            }
            _ => {}
        }
        self.frontend.do_action(request).await
    }

    async fn list_actions(
        &self,
        request: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        self.caller(request.metadata()).await?;
        self.frontend.list_actions(request).await
    }
}

/// A statement the gate runs itself rather than Ballista's frontend.
enum Own {
    /// `CACHE TABLE`, `SHOW CACHES`, ...: run in the session, caches filled by cluster jobs.
    Cache(CacheStatement),
    /// `COPY (query) TO 'path' STORED AS PARQUET|CSV|JSON`: a job whose executors write.
    Copy,
    /// `COPY (query) TO 'map.tif' STORED AS GEOTIFF OPTIONS (...)`: a map.
    Map(MapCopy),
}

/// Fills a cache of a Flight SQL session with a job of the cluster: the session plans on the
/// scheduler, and would otherwise compute the cache in the scheduler's own process.
struct ClusterFill<'a> {
    gate: &'a Gate,
    caller: &'a Caller,
    sql: &'a str,
}

#[tonic::async_trait]
impl Fill for ClusterFill<'_> {
    async fn run(&self, ctx: &SessionContext, plan: LogicalPlan) -> datafusion::error::Result<()> {
        let job = CallJob::new(self.caller.user.as_deref(), self.sql);
        // The count's result is one row on one executor; its job having ended is the point.
        self.gate
            .backend
            .run(&job, Arc::new(ctx.clone()), plan)
            .await
            .map(drop)
            .map_err(|e| DataFusionError::Execution(e.to_string()))
    }
}

/// Removes `handle`'s statement if `token`'s session owns it.
fn remove_owned(statements: &mut HashMap<String, OwnStatement>, handle: &str, token: &str) {
    if statements.get(handle).is_some_and(|s| s.token == token) {
        statements.remove(handle);
    }
}

/// Whether `sql` is one of the gate's statements (a parse; nothing is catalogued for others).
async fn own(ctx: &SessionContext, sql: &str) -> Result<Option<Own>, Status> {
    let state = ctx.state();
    let dialect = state.config().options().sql_parser.dialect;
    // What does not parse is the frontend's to report.
    if let Some(cache) =
        CacheStatement::parse(sql).map_err(|e| Status::invalid_argument(e.to_string()))?
    {
        return Ok(Some(Own::Cache(cache)));
    }
    let Ok(statement) = state.sql_to_statement(sql, &dialect) else {
        return Ok(None);
    };
    if let Some(map) = MapCopy::from_statement(ctx, &statement)
        .await
        .map_err(|e| Status::invalid_argument(e.to_string()))?
    {
        return Ok(Some(Own::Map(map)));
    }
    Ok(matches!(statement, Statement::CopyTo(_)).then_some(Own::Copy))
}

async fn plan(ctx: &SessionContext, sql: &str) -> Result<LogicalPlan, Status> {
    ctx.state()
        .create_logical_plan(sql)
        .await
        .map_err(|e| Status::invalid_argument(format!("failed to plan query: {e}")))
}

fn unpack<M: ProstMessageExt>(any: &Any) -> Result<Option<M>, Status> {
    any.unpack::<M>()
        .map_err(|e| Status::invalid_argument(format!("invalid Flight SQL command: {e}")))
}

/// An endpoint fetching one result partition of a job from the executor that holds it.
fn fetch_partition(location: PartitionLocation) -> Result<FlightEndpoint, Status> {
    let invalid = |what: &str| Status::internal(format!("invalid partition location: no {what}"));
    let layout = location.layout();
    let partition = location
        .partition_id
        .ok_or_else(|| invalid("partition id"))?;
    let executor = location.executor_meta.ok_or_else(|| invalid("executor"))?;
    let action = BallistaAction::FetchPartition {
        job_id: partition.job_id.into(),
        stage_id: partition.stage_id as usize,
        partition_id: partition.partition_id as usize,
        host: executor.host,
        port: executor.port as u16,
        file_id: location.file_id,
        layout,
        file_kind: ShuffleFileKind::Data,
        byte_ranges: vec![],
    };
    let action: protobuf::Action = action
        .try_into()
        .map_err(|e| Status::internal(format!("invalid partition location: {e}")))?;
    Ok(FlightEndpoint::new().with_ticket(Ticket {
        ticket: action.encode_to_vec().into(),
    }))
}

fn bearer_token(metadata: &MetadataMap) -> Option<String> {
    let value = metadata.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn encode_schema(schema: &Schema) -> Result<Vec<u8>, Status> {
    let message: IpcMessage = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
        .try_into()
        .map_err(|e| Status::internal(format!("failed to encode schema: {e}")))?;
    Ok(message.0.to_vec())
}

/// A job's name in the scheduler: its user and SQL, shortened.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_in_any_case_and_basic_is_not_one() {
        let header = |value: &str| {
            let mut metadata = MetadataMap::new();
            metadata.insert("authorization", value.parse().unwrap());
            metadata
        };
        assert_eq!(bearer_token(&header("Bearer abc")).as_deref(), Some("abc"));
        assert_eq!(
            bearer_token(&header("bearer  abc ")).as_deref(),
            Some("abc")
        );
        assert_eq!(bearer_token(&header("Basic YWI6Yw==")), None);
        assert_eq!(bearer_token(&MetadataMap::new()), None);
    }

    #[test]
    fn job_names_carry_the_user_and_short_sql() {
        let job_name = |user, sql| CallJob::new(user, sql).name;
        assert_eq!(job_name(Some("ann"), "SELECT\n  1"), "ann: SELECT 1");
        assert_eq!(job_name(None, "SELECT 1"), "anonymous: SELECT 1");
        assert_eq!(CallJob::new(None, "SELECT 1").user, "anonymous");
        let long = job_name(Some("ann"), &"x".repeat(500));
        assert!(
            long.ends_with('…') && long.chars().count() == "ann: ".len() + 121,
            "{long}"
        );
    }

    #[test]
    fn partition_tickets_name_the_executor_holding_them() {
        let location = PartitionLocation {
            partition_id: Some(protobuf::PartitionId {
                job_id: "job1".to_string(),
                stage_id: 2,
                partition_id: 3,
            }),
            executor_meta: Some(protobuf::ExecutorMetadata {
                id: "e1".to_string(),
                host: "worker7".to_string(),
                port: 50051,
                ..Default::default()
            }),
            ..Default::default()
        };
        let endpoint = fetch_partition(location).unwrap();
        let ticket = endpoint.ticket.unwrap().ticket;
        let action = protobuf::Action::decode(&*ticket).unwrap();
        let text = format!("{action:?}");
        assert!(text.contains("worker7") && text.contains("job1"), "{text}");
        let missing = fetch_partition(PartitionLocation::default()).unwrap_err();
        assert!(
            missing.message().contains("no partition id"),
            "{}",
            missing.message()
        );
    }
}
