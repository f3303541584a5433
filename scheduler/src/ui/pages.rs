//! The pages, rendered on the server with maud, which escapes every value it inserts: SQL text,
//! job names, table names and error messages appear as text, never as markup. A little plain
//! JavaScript (`ui.js`) refreshes the live part of a page in place; without it, the pages are
//! complete and a reload shows the news.

use maud::{html, Markup, DOCTYPE};

use super::graph::stage_graph;
use super::model::{CachesView, ExecutorView, JobDetail, JobRow, JobState, SessionsView};

/// Jobs shown per page of the Jobs list.
pub const JOBS_PER_PAGE: usize = 50;

/// Which page of the navigation bar is current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Jobs,
    Executors,
    Caches,
    Sessions,
}

/// Whose UI a page belongs to: a cluster's scheduler, or a local session (`ardent sql --ui`),
/// which has jobs only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    Cluster,
    Local,
}

fn layout(site: Site, title: &str, tab: Tab, live: bool, content: Markup) -> Markup {
    let class = |t: Tab| if t == tab { "current" } else { "" };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ardent" }
                link rel="stylesheet" href="/static/ui.css";
                script src="/static/ui.js" defer {}
            }
            body {
                header {
                    a.brand href="/jobs" { "ardent" }
                    nav {
                        a class=(class(Tab::Jobs)) href="/jobs" { "Jobs" }
                        @if site == Site::Cluster {
                            a class=(class(Tab::Executors)) href="/executors" { "Executors" }
                            a class=(class(Tab::Caches)) href="/caches" { "Caches" }
                            a class=(class(Tab::Sessions)) href="/sessions" { "Sessions" }
                        }
                    }
                }
                main id="content" data-live=(if live { "true" } else { "false" }) { (content) }
                @if site == Site::Cluster {
                    footer { "ardent " (env!("CARGO_PKG_VERSION")) " · Ballista 55 · " a href="/api/openapi.json" { "REST API" } }
                } @else {
                    footer { "ardent " (env!("CARGO_PKG_VERSION")) " · a local session: its statements, while it runs" }
                }
            }
        }
    }
}

/// A time of day (UTC) from milliseconds since the epoch.
pub fn time(ms: u64) -> String {
    if ms == 0 {
        return "–".into();
    }
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "–".into())
}

/// A duration as people read it: 850 ms, 4.2 s, 3 min 7 s, 2 h 5 min.
pub fn duration(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..=3_599_999 => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// Bytes in binary units: 512 B, 3.4 MiB.
/// A budget: its size, or "no limit" for the largest value (a store told to spill without bound).
fn limit(n: u64) -> String {
    if n == u64::MAX {
        "no limit".to_string()
    } else {
        bytes(n)
    }
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn progress(done: usize, all: usize, what: &str) -> Markup {
    let percent = (done * 100).checked_div(all).unwrap_or(0);
    html! {
        div.progress title={(done) " of " (all) " " (what)} {
            div.bar style={"width: " (percent) "%"} {}
            span { (done) "/" (all) }
        }
    }
}

fn state_badge(state: JobState) -> Markup {
    html! { span class={"badge state-" (state.label())} { (state.label()) } }
}

/// The Jobs page: newest first, `JOBS_PER_PAGE` a page.
pub fn jobs(site: Site, rows: &[JobRow], page: usize) -> Markup {
    let pages = rows.len().div_ceil(JOBS_PER_PAGE).max(1);
    let page = page.clamp(1, pages);
    let shown = rows
        .iter()
        .skip((page - 1) * JOBS_PER_PAGE)
        .take(JOBS_PER_PAGE);
    let count = |s: JobState| rows.iter().filter(|r| r.state == s).count();
    layout(
        site,
        "Jobs",
        Tab::Jobs,
        true,
        html! {
            h1 { "Jobs" }
            p.summary {
                (count(JobState::Running)) " running · " (count(JobState::Queued)) " queued · "
                (count(JobState::Completed)) " completed · " (count(JobState::Failed)) " failed"
            }
            @if rows.is_empty() {
                p.empty { "No jobs yet." }
            } @else {
                table.jobs {
                    thead { tr {
                        th { "Job" } th { "Name" } th { "User" } th { "State" } th { "Submitted" } th { "Duration" }
                        th { "Stages" } th { "Partitions" }
                    } }
                    tbody {
                        @for r in shown {
                            tr data-job=(r.id) class={"job state-" (r.state.label())} {
                                td { a href={"/job/" (r.id)} { (r.id) } }
                                td.name { (r.name) }
                                td.user { (r.user.as_deref().unwrap_or("–")) }
                                td { (state_badge(r.state))
                                    @if let Some(e) = &r.error { div.error-line title=(e) { (first_line(e)) } } }
                                td { (time(r.submitted_ms)) }
                                td { (duration(r.duration_ms)) }
                                td { (progress(r.stages_done, r.stages, "stages")) }
                                td { (progress(r.partitions_done, r.partitions, "partitions")) }
                            }
                        }
                    }
                }
                @if pages > 1 {
                    nav.pages {
                        @for p in 1..=pages {
                            @if p == page { span.current { (p) } } @else { a href={"/jobs?page=" (p)} { (p) } }
                        }
                    }
                }
            }
        },
    )
}

/// A figure, or a dash where there is none.
fn maybe(value: Option<u64>, show: impl Fn(u64) -> String) -> String {
    value.map_or_else(|| "–".to_string(), show)
}

fn first_line(text: &str) -> &str {
    let line = text.lines().next().unwrap_or("");
    match line.char_indices().nth(160) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

/// A job's page: its state, error, stage graph, stages with their tasks, and plans.
pub fn job(site: Site, detail: &JobDetail) -> Markup {
    let j = &detail.job;
    layout(
        site,
        &format!("Job {}", j.id),
        Tab::Jobs,
        j.state.is_active(),
        html! {
            h1 { "Job " (j.id) " " (state_badge(j.state)) }
            dl.facts {
                dt { "Name" } dd.name { (j.name) }
                @if let Some(user) = &j.user { dt { "User" } dd.user { (user) } }
                dt { "Submitted" } dd { (time(j.submitted_ms)) }
                dt { "Duration" } dd { (duration(j.duration_ms)) }
                dt { "Stages" } dd { (progress(j.stages_done, j.stages, "stages")) }
                dt { "Partitions" } dd { (progress(j.partitions_done, j.partitions, "partitions")) }
            }
            @if j.state.is_active() {
                form.cancel method="post" action={"/job/" (j.id) "/cancel"} {
                    button type="submit" { "Cancel job" }
                }
            }
            @if let Some(error) = &j.error {
                section.error {
                    h2 { "Error" }
                    @if !detail.failed_on.is_empty() {
                        p.failed-on { "Failed on executor " (detail.failed_on.join(", ")) }
                    }
                    pre { (error) }
                }
            }
            h2 { "Stages" }
            (stage_graph(&detail.stages))
            @for s in &detail.stages {
                section.stage id={"stage-" (s.id)} {
                    h3 { "Stage " (s.id) " · " (s.state) " · " (s.partitions_done) "/" (s.partitions) " partitions"
                        @if !s.reads.is_empty() { " · reads stage " (join(&s.reads)) } }
                    @if let Some(e) = &s.error { pre.error { (e) } }
                    @if !s.tasks.is_empty() {
                        table.tasks {
                            thead { tr { th { "Task" } th { "Partitions" } th { "Executor" } th { "Attempt" } th { "State" }
                                th { "Duration" } th { "Rows in" } th { "Bytes in" } th { "Rows out" } th { "Bytes out" }
                                th { "Spilled" } th { "Error" } } }
                            tbody {
                                @for t in &s.tasks {
                                    tr class={"task state-" (t.state)} {
                                        td { (t.id) }
                                        td { (join(&t.partitions)) }
                                        td { @if let Some(e) = &t.executor { (e) } @else { "–" } }
                                        td.num { (maybe(t.attempt.map(|a| a as u64), |n| n.to_string())) }
                                        td { (t.state) }
                                        td { (duration(t.duration_ms)) }
                                        td.num { (maybe(t.rows_in, |n| n.to_string())) }
                                        td.num { (maybe(t.bytes_in, bytes)) }
                                        td.num { (maybe(t.rows_out, |n| n.to_string())) }
                                        td.num { (maybe(t.bytes_out, bytes)) }
                                        td.num { (maybe(t.spilled_bytes, bytes)) }
                                        td { @if let Some(e) = &t.error { (first_line(e)) } }
                                    }
                                }
                            }
                        }
                    }
                    details { summary { "Plan and metrics" } pre.plan { (s.plan) } }
                }
            }
            h2 { "Physical plan" }
            pre.plan { (detail.physical_plan) }
            @if let Some(plan) = &detail.logical_plan {
                details { summary { "Logical plan" } pre.plan { (plan) } }
            }
        },
    )
}

fn join(ids: &[usize]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Executors page: alive ones, then lost ones.
pub fn executors(views: &[ExecutorView]) -> Markup {
    let alive = views.iter().filter(|v| v.lost_at_ms.is_none()).count();
    layout(
        Site::Cluster,
        "Executors",
        Tab::Executors,
        true,
        html! {
            h1 { "Executors" }
            p.summary { (alive) " alive · " (views.len() - alive) " lost" }
            table.executors {
                thead { tr {
                    th { "Executor" } th { "Host" } th { "Ports (flight, grpc)" } th { "Slots used" } th { "Memory" }
                    th { "Last heartbeat" } th { "Tasks done" } th { "Tasks failed" } th { "Cached" } th { "State" }
                } }
                tbody {
                    @for v in views {
                        tr data-executor=(v.id) class={"executor " (if v.lost_at_ms.is_some() { "lost" } else { "alive" })} {
                            td { (v.id) }
                            td { (v.host) }
                            td { (v.flight_port) ", " (v.grpc_port) }
                            td { (progress(v.slots_used as usize, v.slots as usize, "slots")) }
                            td { @match (v.memory_used, v.memory_total) {
                                (Some(u), Some(t)) => { (bytes(u)) " of " (bytes(t)) }
                                (Some(u), None) => { (bytes(u)) }
                                _ => { "–" }
                            } }
                            td { @if let Some(ms) = v.last_heartbeat_ms { (time(ms)) } @else { "–" } }
                            td { (v.tasks_run) }
                            td { (v.tasks_failed) }
                            td { (v.cached_partitions) " partitions, " (bytes(v.cached_bytes)) }
                            td { @if let Some(at) = v.lost_at_ms { span.badge.state-failed { "lost" } " " (time(at)) }
                                 @else { span.badge.state-completed { "alive" } } }
                        }
                    }
                }
            }
        },
    )
}

/// The Caches page: each executor's store and each cache's partitions.
pub fn caches(view: &CachesView) -> Markup {
    layout(
        Site::Cluster,
        "Caches",
        Tab::Caches,
        true,
        html! {
            h1 { "Caches" }
            h2 { "Stores" }
            table.stores {
                thead { tr { th { "Executor" } th { "Memory" } th { "Disk" } } }
                tbody {
                    @for s in &view.stores {
                        tr {
                            td { (s.executor) }
                            td { (bytes(s.memory_used)) " of " (limit(s.memory_limit)) }
                            td { (bytes(s.disk_used)) " of " (limit(s.disk_limit)) }
                        }
                    }
                }
            }
            h2 { "Cached results" }
            @if view.caches.is_empty() {
                p.empty { "Nothing is cached. " code { "CACHE TABLE name AS SELECT ..." } " caches a result on the executors." }
            }
            @for c in &view.caches {
                section.cache {
                    h3 { (c.name) " " small.key { (c.key) } }
                    p { (c.partitions.len()) " partitions · " (c.rows) " rows · " (bytes(c.memory_bytes)) " in memory · "
                        (bytes(c.disk_bytes)) " on disk · " (c.hits) " hits · " (c.recomputed) " recomputed" }
                    table.partitions {
                        thead { tr { th { "Partition" } th { "Executor" } th { "Storage" } th { "Rows" } th { "Memory" } th { "Disk" } th { "Hits" } } }
                        tbody {
                            @for p in &c.partitions {
                                tr { td { (p.partition) } td { (p.executor) } td { (p.storage) } td { (p.rows) }
                                     td { (bytes(p.memory_bytes)) } td { (bytes(p.disk_bytes)) } td { (p.hits) } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The Sessions page: Flight SQL's live sessions, their users and running statements.
pub fn sessions(view: &SessionsView) -> Markup {
    layout(
        Site::Cluster,
        "Sessions",
        Tab::Sessions,
        view.flight_sql,
        html! {
            h1 { "Sessions" }
            @if !view.flight_sql {
                p.empty { "This scheduler serves no Flight SQL (" code { "--flight-sql-port" } ")." }
            } @else if view.sessions.is_empty() {
                p.empty { "No Flight SQL session is open." }
            } @else {
                p.summary { (view.sessions.len()) " open" }
                table.sessions {
                    thead { tr { th { "User" } th { "Session" } th { "Opened" } th { "Idle" } th { "Running statements" } } }
                    tbody {
                        @for s in &view.sessions {
                            tr.session {
                                td.user { @if let Some(u) = &s.session.user { (u) } @else { em { "anonymous" } } }
                                td { code { (s.session.session_id) } }
                                td { (time(s.session.opened_at_ms)) }
                                td { (duration(s.session.idle_ms)) }
                                td {
                                    @if s.running.is_empty() { span.empty { "none" } }
                                    @for j in &s.running {
                                        div.statement { a href={"/job/" (j.id)} { (j.id) } " " (state_badge(j.state)) " " span.name { (j.name) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A page for what went wrong (unknown job, the scheduler not answering).
pub fn problem(site: Site, title: &str, message: &str) -> Markup {
    layout(
        site,
        title,
        Tab::Jobs,
        false,
        html! {
            h1 { (title) }
            p.error { (message) }
            p { a href="/jobs" { "Back to the jobs" } }
        },
    )
}

/// The stylesheet, embedded in the binary.
pub const CSS: &str = include_str!("assets/ui.css");
/// The script that refreshes pages in place.
pub const JS: &str = include_str!("assets/ui.js");

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, state: JobState) -> JobRow {
        JobRow {
            id: "J1".into(),
            name: name.into(),
            user: Some("<i>ann</i>".into()),
            state,
            submitted_ms: 1_764_000_000_000,
            duration_ms: 4200,
            stages_done: 1,
            stages: 2,
            partitions_done: 3,
            partitions: 4,
            error: Some("<b>boom</b>".into()),
        }
    }

    #[test]
    fn user_text_is_escaped() {
        let page = jobs(
            Site::Cluster,
            &[row("<script>alert(1)</script>", JobState::Failed)],
            1,
        )
        .into_string();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&lt;b&gt;boom&lt;/b&gt;"));
        assert!(
            page.contains("&lt;i&gt;ann&lt;/i&gt;"),
            "the user is escaped too"
        );
    }

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(4200), "4.2 s");
        assert_eq!(duration(187_000), "3 min 7 s");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
        assert_eq!(time(0), "–");
        assert_eq!(time(86_400_000), "1970-01-02 00:00:00 UTC");
    }
}
