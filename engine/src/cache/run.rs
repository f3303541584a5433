//! Running the cache's statements in a session, and the Rust call that caches a DataFrame.
//!
//! Everything here goes through the session it is given, so one code path serves local mode
//! (the store of this process) and a `df://` cluster (the executors' stores, reached through
//! the scheduler by [`super::control`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::common::{Result, TableReference};
use datafusion::datasource::{provider_as_source, ViewTable};
use datafusion::functions_aggregate::count::count_all;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;

use super::control::{perform, ControlOp, Prepared};
use super::fingerprint::Fingerprint;
use super::locate::Inventory;
use super::statement::{CacheOptions, CacheStatement};
use super::table::{CacheDefinition, CachedTable};
use super::{CacheConfig, CacheError, Storage};

/// How a cache is filled: the plan of a count over the cache, run to its end.
#[async_trait]
pub trait Fill: Send + Sync {
    async fn run(&self, ctx: &SessionContext, plan: LogicalPlan) -> Result<()>;
}

/// Filling through the session itself: in this process (local mode), or as a job of the
/// cluster a `df://` session submits to.
#[derive(Debug, Default)]
pub struct InSession;

#[async_trait]
impl Fill for InSession {
    async fn run(&self, ctx: &SessionContext, plan: LogicalPlan) -> Result<()> {
        ctx.execute_logical_plan(plan)
            .await?
            .collect()
            .await
            .map(drop)
    }
}

/// The schema of `statement`'s answer (what [`execute`] returns).
pub fn result_schema(statement: &CacheStatement) -> SchemaRef {
    match statement {
        CacheStatement::Uncache { .. } | CacheStatement::Clear => dropped_schema(),
        _ => show_caches_schema(),
    }
}

/// Runs `statement` in `ctx`. `CACHE TABLE`, `REFRESH TABLE` and `SHOW CACHES` answer with
/// [`show_caches`]' rows (of the caches concerned); `UNCACHE TABLE` and `CLEAR CACHE` with the
/// caches dropped and how many partitions each held.
pub async fn execute(ctx: &SessionContext, statement: CacheStatement) -> Result<RecordBatch> {
    execute_with(ctx, statement, &InSession).await
}

/// [`execute`], filling caches with `fill` (the Flight SQL service runs fills as jobs of the
/// cluster while its sessions plan on the scheduler).
pub async fn execute_with(
    ctx: &SessionContext,
    statement: CacheStatement,
    fill: &dyn Fill,
) -> Result<RecordBatch> {
    CacheConfig::apply(ctx.state().config())?;
    match statement {
        CacheStatement::Cache {
            name,
            lazy,
            options,
            query,
        } => {
            let existing = lookup(ctx, &name).await?;
            let before = existing.clone();
            let (lineage, replaced) = match query {
                Some(query) => {
                    if existing.is_some() {
                        return Err(CacheError::Exists { name }.into());
                    }
                    let sql = query.to_string();
                    let statement = DFStatement::Statement(Box::new(SqlStatement::Query(query)));
                    let plan = ctx.state().statement_to_plan(statement).await?;
                    let view: Arc<dyn TableProvider> =
                        Arc::new(ViewTable::new(plan.clone(), Some(sql)));
                    (plan, view)
                }
                None => {
                    let existing =
                        existing.ok_or_else(|| CacheError::Unknown { name: name.clone() })?;
                    if existing.downcast_ref::<CachedTable>().is_some() {
                        return Err(CacheError::AlreadyCached { name }.into());
                    }
                    let plan = LogicalPlanBuilder::scan(
                        reference(&name),
                        provider_as_source(Arc::clone(&existing)),
                        None,
                    )?
                    .build()?;
                    (plan, existing)
                }
            };
            cache_plan(
                ctx,
                fill,
                &name,
                lineage,
                options,
                lazy,
                Some(replaced),
                before,
            )
            .await?;
            show_caches_named(ctx, Some(&name)).await
        }
        CacheStatement::Uncache { name, if_exists } => {
            let dropped = match cached(ctx, &name).await {
                Ok(table) => vec![(name.clone(), uncache(ctx, &name, &table, true).await?)],
                Err(CacheError::Unknown { .. }) if if_exists => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            Ok(dropped_batch(dropped)?)
        }
        CacheStatement::Clear => {
            let mut dropped = Vec::new();
            for (name, table) in cached_tables(ctx).await? {
                dropped.push((name.clone(), uncache(ctx, &name, &table, true).await?));
            }
            Ok(dropped_batch(dropped)?)
        }
        CacheStatement::Refresh { name } => {
            let table = cached(ctx, &name).await?;
            uncache(ctx, &name, &table, false).await?;
            let d = table.definition();
            let options = CacheOptions {
                storage: d.storage,
                on_change: d.on_change,
            };
            let replaced = table.replaced().cloned();
            cache_plan(
                ctx,
                fill,
                &name,
                d.lineage.clone(),
                options,
                false,
                replaced.clone(),
                replaced,
            )
            .await?;
            show_caches_named(ctx, Some(&name)).await
        }
        CacheStatement::Show => show_caches(ctx).await,
    }
}

/// Caching a DataFrame from Rust: the result is registered under a name, as
/// `CACHE TABLE name AS ...` does, and the returned DataFrame reads the cache.
///
/// ```no_run
/// # async fn f(ctx: datafusion::prelude::SessionContext) -> datafusion::error::Result<()> {
/// use ardent_engine::cache::run::CacheExt;
/// use ardent_engine::cache::Storage;
/// let segs = ctx.sql("SELECT 1 AS x").await?.cache_as("segs", Storage::MemoryAndDisk).await?;
/// let later = ctx.sql("SELECT count(*) FROM segs").await?; // reads the cache too
/// # Ok(()) }
/// ```
#[async_trait]
pub trait CacheExt {
    /// Computes and keeps this DataFrame's result as the cached table `name`.
    async fn cache_as(self, name: &str, storage: Storage) -> Result<DataFrame>;
}

#[async_trait]
impl CacheExt for DataFrame {
    async fn cache_as(self, name: &str, storage: Storage) -> Result<DataFrame> {
        let (state, lineage) = self.into_parts();
        // The state shares the catalogs of the context it came from, so the name registered
        // here is the caller's.
        let ctx = SessionContext::new_with_state(state);
        if lookup(&ctx, name).await?.is_some() {
            return Err(CacheError::Exists {
                name: name.to_string(),
            }
            .into());
        }
        let view: Arc<dyn TableProvider> = Arc::new(ViewTable::new(lineage.clone(), None));
        let options = CacheOptions {
            storage,
            ..CacheOptions::default()
        };
        let table = cache_plan(
            &ctx,
            &InSession,
            name,
            lineage,
            options,
            false,
            Some(view),
            None,
        )
        .await?;
        ctx.read_table(table)
    }
}

/// Defines the cache `name` over `lineage`, registers it (`UNCACHE TABLE` puts `replaced` back),
/// and unless `lazy` fills it. When the fill fails, the name means `before` again and nothing
/// is stored.
#[allow(clippy::too_many_arguments)] // one private helper behind four statements
async fn cache_plan(
    ctx: &SessionContext,
    fill: &dyn Fill,
    name: &str,
    lineage: LogicalPlan,
    options: CacheOptions,
    lazy: bool,
    replaced: Option<Arc<dyn TableProvider>>,
    before: Option<Arc<dyn TableProvider>>,
) -> Result<Arc<CachedTable>> {
    let target_partitions = ctx.state().config().target_partitions();
    let prepared: Prepared = perform(
        ctx,
        ControlOp::Prepare {
            lineage: lineage.clone(),
            target_partitions,
        },
    )
    .await?;
    let definition = CacheDefinition {
        id: uuid::Uuid::new_v4().simple().to_string(),
        name: name.to_string(),
        storage: options.storage,
        on_change: options.on_change,
        lineage,
        target_partitions,
        partitions: prepared.partitions,
        fingerprint: Fingerprint {
            files: prepared.files,
        },
        created_at: chrono::Utc::now().timestamp_millis(),
    };
    let id = definition.id.clone();
    let table = Arc::new(CachedTable::new(definition, replaced));
    let r = reference(name);
    ctx.deregister_table(r.clone())?;
    ctx.register_table(r.clone(), Arc::clone(&table) as Arc<dyn TableProvider>)?;
    if lazy {
        return Ok(table);
    }
    table.set_filling(true);
    let started = std::time::Instant::now();
    let filled = async {
        let count = ctx
            .read_table(Arc::clone(&table) as Arc<dyn TableProvider>)?
            .aggregate(vec![], vec![count_all()])?
            .into_unoptimized_plan();
        fill.run(ctx, count).await
    }
    .await;
    table.set_filling(false);
    match filled {
        Ok(_) => {
            tracing::info!(
                cache = name,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "cache filled"
            );
            Ok(table)
        }
        Err(e) => {
            ctx.deregister_table(r.clone())?;
            if let Some(previous) = before {
                ctx.register_table(r, previous)?;
            }
            if let Err(cleanup) = perform::<usize>(ctx, ControlOp::Drop { id }).await {
                tracing::warn!(cache = name, error = %cleanup, "cannot drop the partitions of a failed cache");
            }
            Err(e.context(format!("cannot cache '{name}'")))
        }
    }
}

/// Drops the stored partitions of `table` (cached as `name`) and deregisters it, putting back
/// what it replaced when `restore`; returns how many partitions were dropped.
async fn uncache(
    ctx: &SessionContext,
    name: &str,
    table: &CachedTable,
    restore: bool,
) -> Result<usize> {
    let dropped: usize = perform(
        ctx,
        ControlOp::Drop {
            id: table.definition().id.clone(),
        },
    )
    .await?;
    let r = reference(name);
    ctx.deregister_table(r.clone())?;
    if let (true, Some(previous)) = (restore, table.replaced()) {
        ctx.register_table(r, Arc::clone(previous))?;
    }
    Ok(dropped)
}

/// The table a (possibly qualified) name means, resolved as statements resolve it.
fn reference(name: &str) -> TableReference {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        [schema, table] => TableReference::partial(*schema, *table),
        [catalog, schema, table] => TableReference::full(*catalog, *schema, *table),
        _ => TableReference::bare(name),
    }
}

async fn lookup(ctx: &SessionContext, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
    let r = reference(name);
    if !ctx.table_exist(r.clone())? {
        return Ok(None);
    }
    ctx.table_provider(r).await.map(Some)
}

/// The cached table `name`, or why there is none.
async fn cached(ctx: &SessionContext, name: &str) -> Result<CachedTable, CacheError> {
    let provider = lookup(ctx, name)
        .await
        .ok()
        .flatten()
        .ok_or_else(|| CacheError::Unknown {
            name: name.to_string(),
        })?;
    downcast(provider).ok_or_else(|| CacheError::NotCached {
        name: name.to_string(),
    })
}

fn downcast(provider: Arc<dyn TableProvider>) -> Option<CachedTable> {
    provider.downcast_ref::<CachedTable>().cloned()
}

/// Every cached table of the session, with the name it is registered under (qualified when it
/// is not in the default schema).
async fn cached_tables(ctx: &SessionContext) -> Result<Vec<(String, CachedTable)>> {
    let state = ctx.state();
    let defaults = &state.config().options().catalog;
    let mut found = Vec::new();
    let catalogs = state.catalog_list();
    for catalog_name in catalogs.catalog_names() {
        let Some(catalog) = catalogs.catalog(&catalog_name) else {
            continue;
        };
        for schema_name in catalog.schema_names() {
            let Some(schema) = catalog.schema(&schema_name) else {
                continue;
            };
            for table_name in schema.table_names() {
                let Some(table) = schema.table(&table_name).await?.and_then(downcast) else {
                    continue;
                };
                let name = if catalog_name == defaults.default_catalog
                    && schema_name == defaults.default_schema
                {
                    table_name
                } else if catalog_name == defaults.default_catalog {
                    format!("{schema_name}.{table_name}")
                } else {
                    format!("{catalog_name}.{schema_name}.{table_name}")
                };
                found.push((name, table));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// The columns of `SHOW CACHES`.
pub fn show_caches_schema() -> SchemaRef {
    let u64 = |name: &str| Field::new(name, DataType::UInt64, false);
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        text("name"),
        text("storage"),
        text("state"),
        u64("rows"),
        u64("memory_bytes"),
        u64("disk_bytes"),
        text("partitions"),
        text("locations"),
        u64("hits"),
        u64("recomputed"),
        Field::new(
            "created",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// `SHOW CACHES`: one row per cache of the session, with what the stores that hold its
/// partitions report. `state` is `filling` while `CACHE TABLE` runs, `ready` when every
/// partition is held, `partial` when some are (the others were evicted or lost, or a lazy
/// cache has been read in part), `empty` when none are.
pub async fn show_caches(ctx: &SessionContext) -> Result<RecordBatch> {
    show_caches_named(ctx, None).await
}

async fn show_caches_named(ctx: &SessionContext, only: Option<&str>) -> Result<RecordBatch> {
    let tables: Vec<_> = cached_tables(ctx)
        .await?
        .into_iter()
        .filter(|(name, _)| only.is_none_or(|o| o == name))
        .collect();
    let inventories: Vec<(String, Inventory)> = if tables.is_empty() {
        Vec::new()
    } else {
        perform(ctx, ControlOp::Inventory).await?
    };
    let mut columns = ShowColumns::default();
    for (name, table) in tables {
        let d = table.definition();
        let generation = format!("{}.", d.id);
        let mut rows = 0u64;
        let (mut memory, mut disk, mut hits, mut recomputed) = (0u64, 0u64, 0u64, 0u64);
        let mut held: BTreeMap<usize, ()> = BTreeMap::new();
        let mut locations: Vec<String> = Vec::new();
        for (executor, inventory) in &inventories {
            let mut here: Vec<usize> = Vec::new();
            for p in inventory
                .partitions
                .iter()
                .filter(|p| p.key.cache.starts_with(&generation))
            {
                if held.insert(p.key.partition, ()).is_none() {
                    rows += p.rows as u64;
                }
                memory += p.memory_bytes;
                disk += p.disk_bytes;
                here.push(p.key.partition);
            }
            for (_, c) in inventory
                .counts
                .iter()
                .filter(|(k, _)| k.starts_with(&generation))
            {
                hits += c.hits;
                recomputed += c.recomputed;
            }
            if !here.is_empty() {
                here.sort();
                let list: Vec<String> = here.iter().map(usize::to_string).collect();
                locations.push(format!("{executor}: {}", list.join(",")));
            }
        }
        let state = if table.is_filling() {
            "filling"
        } else if held.len() >= d.partitions && d.partitions > 0 {
            "ready"
        } else if held.is_empty() {
            "empty"
        } else {
            "partial"
        };
        columns.name.push(name);
        columns.storage.push(d.storage.to_string());
        columns.state.push(state.to_string());
        columns.rows.push(rows);
        columns.memory.push(memory);
        columns.disk.push(disk);
        columns
            .partitions
            .push(format!("{}/{}", held.len(), d.partitions));
        columns.locations.push(locations.join("; "));
        columns.hits.push(hits);
        columns.recomputed.push(recomputed);
        columns.created.push(d.created_at);
    }
    columns.batch()
}

#[derive(Default)]
struct ShowColumns {
    name: Vec<String>,
    storage: Vec<String>,
    state: Vec<String>,
    rows: Vec<u64>,
    memory: Vec<u64>,
    disk: Vec<u64>,
    partitions: Vec<String>,
    locations: Vec<String>,
    hits: Vec<u64>,
    recomputed: Vec<u64>,
    created: Vec<i64>,
}

impl ShowColumns {
    fn batch(self) -> Result<RecordBatch> {
        let text = |v: Vec<String>| Arc::new(StringArray::from(v)) as _;
        let count = |v: Vec<u64>| Arc::new(UInt64Array::from(v)) as _;
        Ok(RecordBatch::try_new(
            show_caches_schema(),
            vec![
                text(self.name),
                text(self.storage),
                text(self.state),
                count(self.rows),
                count(self.memory),
                count(self.disk),
                text(self.partitions),
                text(self.locations),
                count(self.hits),
                count(self.recomputed),
                Arc::new(TimestampMillisecondArray::from(self.created).with_timezone("UTC")),
            ],
        )?)
    }
}

fn dropped_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("partitions_dropped", DataType::UInt64, false),
    ]))
}

/// The answer of `UNCACHE TABLE` and `CLEAR CACHE`.
fn dropped_batch(dropped: Vec<(String, usize)>) -> Result<RecordBatch> {
    let schema = dropped_schema();
    let (names, counts): (Vec<String>, Vec<u64>) =
        dropped.into_iter().map(|(n, c)| (n, c as u64)).unzip();
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(UInt64Array::from(counts)),
        ],
    )?)
}
