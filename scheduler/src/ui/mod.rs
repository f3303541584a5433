//! The web UI: jobs, a job's stages and tasks, executors, caches and Flight SQL sessions in a
//! browser, served by the scheduler on a port of its own (4040 by default, as Spark's
//! application UI).
//!
//! - [`model`]: what the pages show, read from Ballista's scheduler state, the executors'
//!   cache stores and the [`roster`] of executors seen (so lost ones stay listed);
//! - [`pages`]: the HTML, rendered with maud (every inserted value escaped), with the stage
//!   graph drawn as SVG by [`graph`], and a small script that refreshes a page in place;
//! - here: the options, the routes and the users check. Each page has a JSON twin under
//!   `/api/ui/` (the same data), Ballista's own REST API answers beside them (`/api/jobs`,
//!   `/api/job/{id}`, `/api/executors`, ...), and `/api/caches` lists the executors' cache
//!   stores with their budgets.
//!
//! With users (`--users`), every page and API asks for the same credentials as Flight SQL
//! (HTTP Basic). Without users, the UI binds to loopback only.

pub mod graph;
pub mod jobs;
pub mod local;
pub mod model;
pub mod pages;
pub mod roster;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ardent_engine::cache::locate::CacheLocator;
use ardent_engine::distributed::rest::{UiIdentity, UI_PORTS};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use ballista_scheduler::cluster::BallistaCluster;
use maud::Markup;

use self::model::Model;
use self::roster::Roster;
use crate::auth::{basic_credentials, Credentials};
use crate::flight_sql::{Scheduler, Sessions};
use crate::placements::TaskPlacements;

/// The UI's port when none is given; when it is taken, the next free one of
/// [`UI_PORTS`] (as Spark does with 4040 and spark.port.maxRetries), where clients look for it.
pub const DEFAULT_PORT: u16 = *UI_PORTS.start();

/// The web UI's flags of `ardent-scheduler` (each also read from `ARDENT_SCHEDULER_<FLAG>`).
#[derive(clap::Args, Debug, Clone)]
pub struct UiOptions {
    /// Serve the web UI (and the REST API beside it) on this port; 0 serves none. Without it,
    /// 4040, or the first free port of the 16 after it.
    #[arg(long)]
    pub ui_port: Option<u16>,
    /// Address the web UI binds to. Other than loopback, --users is required.
    #[arg(long, default_value = "127.0.0.1")]
    pub ui_bind_host: IpAddr,
}

/// Why the web UI could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UiError {
    #[error(
        "the web UI on {0} would show every job to anyone who reaches it: give --users FILE, \
         or bind it to loopback (--ui-bind-host 127.0.0.1)"
    )]
    NeedsUsers(IpAddr),
    #[error("cannot listen for the web UI on {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("web UI on {address} stopped: {source}")]
    Stopped {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The web UI bound to its port, ready to serve.
pub struct Ui {
    address: SocketAddr,
    listener: tokio::net::TcpListener,
    router: Router,
}

#[derive(Clone)]
struct UiState {
    model: Model,
    credentials: Option<Arc<Credentials>>,
}

impl Ui {
    /// Checks the options and binds the port (`placements` names the executors of failed
    /// tasks; `sessions` are Flight SQL's, when served); `None` when the UI is turned off (`--ui-port 0`)
    /// or, with no port asked for, when 4040 and the ports after it are all taken.
    pub async fn bind(
        options: &UiOptions,
        credentials: Option<Arc<Credentials>>,
        scheduler: Scheduler,
        cluster: BallistaCluster,
        caches: Arc<dyn CacheLocator>,
        placements: Arc<TaskPlacements>,
        sessions: Option<Sessions>,
    ) -> Result<Option<Ui>, UiError> {
        let host = options.ui_bind_host;
        if credentials.is_none() && !host.is_loopback() {
            return Err(UiError::NeedsUsers(host));
        }
        let Some(listener) = listen(host, options.ui_port).await? else {
            return Ok(None);
        };
        let address = listener.local_addr().map_err(|source| UiError::Bind {
            address: SocketAddr::new(host, 0),
            source,
        })?;
        let roster = Roster::default();
        roster.watch(scheduler.clone());
        let state = UiState {
            model: Model {
                scheduler: scheduler.clone(),
                cluster,
                caches,
                roster,
                placements,
                sessions,
            },
            credentials,
        };
        Ok(Some(Ui {
            address,
            listener,
            router: router(state, scheduler),
        }))
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until the server fails.
    pub async fn serve(self) -> Result<(), UiError> {
        let address = self.address;
        axum::serve(self.listener, self.router)
            .await
            .map_err(|source| UiError::Stopped { address, source })
    }
}

/// Binds `port` on `host`, or with none given the first free one of [`UI_PORTS`]; `None` for
/// port 0 (no UI) or when every one of those is taken.
async fn listen(
    host: IpAddr,
    port: Option<u16>,
) -> Result<Option<tokio::net::TcpListener>, UiError> {
    match port {
        Some(0) => Ok(None),
        Some(port) => {
            let address = SocketAddr::new(host, port);
            tokio::net::TcpListener::bind(address)
                .await
                .map(Some)
                .map_err(|source| UiError::Bind { address, source })
        }
        None => {
            for port in UI_PORTS {
                let address = SocketAddr::new(host, port);
                if let Ok(listener) = tokio::net::TcpListener::bind(address).await {
                    return Ok(Some(listener));
                }
            }
            tracing::warn!(
                "ports {DEFAULT_PORT} to {} are all taken: no web UI (give --ui-port)",
                UI_PORTS.end()
            );
            Ok(None)
        }
    }
}

/// What every UI serves: `/` leading to the jobs, and the static assets.
fn common_routes() -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/jobs") }))
        .route(
            "/static/ui.css",
            get(|| async { asset("text/css", pages::CSS) }),
        )
        .route(
            "/static/ui.js",
            get(|| async { asset("text/javascript", pages::JS) }),
        )
}

fn router(state: UiState, scheduler: Scheduler) -> Router {
    let pages = Router::new()
        .route("/executors", get(executors_page))
        .route("/caches", get(caches_page))
        .route("/sessions", get(sessions_page))
        .route("/api/ui/sessions", get(sessions_json))
        .route("/api/ui/executors", get(executors_json))
        .route("/api/caches", get(caches_json))
        .route("/api/ui/scheduler", get(identity_json))
        .with_state(state.clone())
        .merge(jobs::routes(
            Arc::new(state.model.clone()),
            pages::Site::Cluster,
        ))
        .merge(common_routes());
    // Ballista's REST API answers what the UI's routes do not, behind the same users check
    // (as a fallback: its `/` sends browsers to its web TUI elsewhere, here `/` is the UI's).
    pages
        .fallback_service(ballista_scheduler::api::get_routes(Arc::new(scheduler)))
        .layer(middleware::from_fn_with_state(state, require_user))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// With users, every request carries valid Basic credentials; without, every request passes.
async fn require_user(State(state): State<UiState>, request: Request, next: Next) -> Response {
    let Some(credentials) = &state.credentials else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(basic_credentials);
    match given {
        Some((user, password)) if credentials.verify(&user, &password).await => {
            next.run(request).await
        }
        given => {
            if let Some((user, _)) = given {
                tracing::warn!(%user, "web UI refused: wrong user or password");
            }
            (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"ardent\", charset=\"UTF-8\""),
                )],
                "invalid user or password\n",
            )
                .into_response()
        }
    }
}

pub(crate) fn html(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        markup.into_string(),
    )
        .into_response()
}

pub(crate) fn unavailable(site: pages::Site, message: String) -> Response {
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::problem(site, "The scheduler does not answer", &message),
    )
}

async fn executors_page(State(state): State<UiState>) -> Response {
    match state.model.executors().await {
        Ok(views) => html(StatusCode::OK, pages::executors(&views)),
        Err(e) => unavailable(pages::Site::Cluster, e),
    }
}

async fn caches_page(State(state): State<UiState>) -> Response {
    match state.model.caches().await {
        Ok(view) => html(StatusCode::OK, pages::caches(&view)),
        Err(e) => unavailable(pages::Site::Cluster, e),
    }
}

async fn sessions_page(State(state): State<UiState>) -> Response {
    match state.model.sessions().await {
        Ok(view) => html(StatusCode::OK, pages::sessions(&view)),
        Err(e) => unavailable(pages::Site::Cluster, e),
    }
}

pub(crate) fn json_or_503<T: serde::Serialize>(result: Result<T, String>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "error": error })),
        )
            .into_response(),
    }
}

async fn executors_json(State(state): State<UiState>) -> Response {
    json_or_503(state.model.executors().await)
}

async fn caches_json(State(state): State<UiState>) -> Response {
    json_or_503(state.model.caches().await)
}

/// Which scheduler this UI belongs to: clients of its cluster port find their UI by it.
async fn identity_json(State(state): State<UiState>) -> Response {
    Json(UiIdentity {
        scheduler_port: state.model.scheduler.state.config.bind_port,
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
    .into_response()
}

async fn sessions_json(State(state): State<UiState>) -> Response {
    json_or_503(state.model.sessions().await)
}
