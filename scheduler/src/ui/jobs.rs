//! The Jobs and job pages, their JSON twins and the cancel button, over any [`JobSource`]: a
//! cluster's scheduler ([`Model`](super::model::Model)) or a local session's statements
//! ([`LocalJobs`](super::local::LocalJobs)).

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::model::{JobDetail, JobRow};
use super::pages::{self, Site};
use super::{html, json_or_503, unavailable};

/// Where the jobs come from.
#[async_trait]
pub trait JobSource: Send + Sync + 'static {
    /// Every job known, newest first.
    async fn jobs(&self) -> Result<Vec<JobRow>, String>;
    /// One job in full; `None` when unknown.
    async fn job(&self, id: &str) -> Option<JobDetail>;
    /// Cancels a running job: whether it was running; an error starting with "no job" when
    /// unknown.
    async fn cancel(&self, id: &str) -> Result<bool, String>;
}

#[derive(Clone)]
struct JobsState {
    source: Arc<dyn JobSource>,
    site: Site,
}

/// `/jobs`, `/job/{id}`, `/job/{id}/cancel`, `/api/ui/jobs` and `/api/ui/job/{id}`.
pub fn routes(source: Arc<dyn JobSource>, site: Site) -> Router {
    Router::new()
        .route("/jobs", get(jobs_page))
        .route("/job/{id}", get(job_page))
        .route("/job/{id}/cancel", post(cancel))
        .route("/api/ui/jobs", get(jobs_json))
        .route("/api/ui/job/{id}", get(job_json))
        .with_state(JobsState { source, site })
}

fn no_job(site: Site, id: &str) -> Response {
    html(
        StatusCode::NOT_FOUND,
        pages::problem(site, "No such job", &format!("There is no job {id}.")),
    )
}

#[derive(Deserialize)]
struct JobsQuery {
    page: Option<usize>,
}

async fn jobs_page(State(state): State<JobsState>, Query(q): Query<JobsQuery>) -> Response {
    match state.source.jobs().await {
        Ok(rows) => html(
            StatusCode::OK,
            pages::jobs(state.site, &rows, q.page.unwrap_or(1)),
        ),
        Err(e) => unavailable(state.site, e),
    }
}

async fn job_page(State(state): State<JobsState>, Path(id): Path<String>) -> Response {
    match state.source.job(&id).await {
        Some(detail) => html(StatusCode::OK, pages::job(state.site, &detail)),
        None => no_job(state.site, &id),
    }
}

/// A cancel from the job's page. Only from a page of this UI: a form posted from another site
/// (which a browser would send with the user's credentials) is refused.
async fn cancel(
    State(state): State<JobsState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !same_origin(&headers) {
        return html(
            StatusCode::FORBIDDEN,
            pages::problem(
                state.site,
                "Refused",
                "Jobs are cancelled from the UI's own pages only.",
            ),
        );
    }
    match state.source.cancel(&id).await {
        Ok(_) => Redirect::to(&format!("/job/{id}")).into_response(),
        Err(e) if e.starts_with("no job") => no_job(state.site, &id),
        Err(e) => unavailable(state.site, e),
    }
}

/// Whether a request came from this UI's own pages: the browser's `Sec-Fetch-Site`, else its
/// `Origin`, says so; a request with neither (curl, a script) is taken as the user's own.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    match (text("origin"), text("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority == host),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

async fn jobs_json(State(state): State<JobsState>) -> Response {
    json_or_503(state.source.jobs().await)
}

async fn job_json(State(state): State<JobsState>, Path(id): Path<String>) -> Response {
    match state.source.job(&id).await {
        Some(detail) => Json(detail).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": format!("no job {id}") })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cancels_come_from_the_ui_itself() {
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(same_origin(&headers(&[
            ("origin", "http://127.0.0.1:4040"),
            ("host", "127.0.0.1:4040")
        ])));
        assert!(!same_origin(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:4040")
        ])));
        assert!(same_origin(&headers(&[("host", "127.0.0.1:4040")])));
    }
}
