//! Projection and filter pushdown: fewer files opened, identical answers, bounded batches.

use std::sync::Arc;

use ardent_engine::provider::{Layout, RasterOptions, RasterTable};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use crate::common::*;

async fn register(
    ctx: &SessionContext,
    name: &str,
    layout: Layout,
    options: &[(&str, &str)],
) -> Arc<RasterTable> {
    let mut o = RasterOptions::from_pairs(options.iter().copied()).unwrap();
    o.layout = layout;
    let table = Arc::new(
        RasterTable::try_new(stack().to_str().unwrap(), o)
            .await
            .unwrap(),
    );
    ctx.register_table(name, table.clone()).unwrap();
    table
}

#[tokio::test]
async fn pushdown_reduces_files_opened() {
    // One partition, so each file is opened exactly once.
    let ctx = session(1);
    let table = register(&ctx, "obs", Layout::Observations, &[("chip_size", "10")]).await;
    let dates: Vec<i32> = table.stack().tiles[0]
        .acquisitions
        .iter()
        .map(|a| a.date)
        .collect();
    let n = dates.len();

    let (_, all_bands) = run_counting_files(&ctx, "SELECT * FROM obs").await;
    assert_eq!(all_bands, n * 8);

    let (batches, two_bands) = run_counting_files(&ctx, "SELECT red, nir FROM obs").await;
    assert_eq!(two_bands, n * 2);
    assert_eq!(rows(&batches), SIZE * SIZE * n);

    let (_, no_bands) = run_counting_files(&ctx, "SELECT count(*) FROM obs").await;
    assert_eq!(no_bands, 0, "a count reads no raster data");

    let cut = ardent_engine::catalog::date32(chrono::NaiveDate::from_ymd_opt(2015, 6, 1).unwrap());
    let later = dates.iter().filter(|&&d| d >= cut).count();
    let (batches, dated) =
        run_counting_files(&ctx, "SELECT red FROM obs WHERE date >= DATE '2015-06-01'").await;
    assert_eq!(dated, later);
    assert!(later < n);
    assert_eq!(rows(&batches), SIZE * SIZE * later);

    // A chip filter that matches nothing opens nothing.
    let (batches, none) = run_counting_files(&ctx, "SELECT red FROM obs WHERE chip_x = 1").await;
    assert_eq!((rows(&batches), none), (0, 0));
}

#[tokio::test]
async fn explain_shows_what_was_pushed() {
    let ctx = session(2);
    register(&ctx, "obs", Layout::Observations, &[("chip_size", "10")]).await;
    let plan = query(&ctx, "EXPLAIN SELECT nir FROM obs WHERE tile = 'h003v008' AND row BETWEEN 5 AND 14 AND date < DATE '2015-01-01'").await;
    let text = pretty(&plan);
    assert!(text.contains("RasterScanExec"), "{text}");
    assert!(text.contains("bands=[nir]"), "{text}");
    assert!(text.contains("tile in [h003v008]"), "{text}");
    assert!(text.contains("row in [5, 14]"), "{text}");
    assert!(text.contains("date in [.., 2014-12-31]"), "{text}");
    // Rows 5..=14 touch chip rows 0 and 1 of a 3 x 3 chip grid.
    assert!(text.contains("chips=6/9"), "{text}");
}

/// Filtered queries give the same answer as filtering an in-memory copy of the whole table.
#[tokio::test]
async fn filtered_results_equal_unpushed_results() {
    let ctx = session(2);
    register(&ctx, "obs", Layout::Observations, &[("chip_size", "8")]).await;
    register(&ctx, "pix", Layout::Pixels, &[("chip_size", "8")]).await;
    for (raster, name) in [("obs", "obs_mem"), ("pix", "pix_mem")] {
        let batches = query(&ctx, &format!("SELECT * FROM {raster}")).await;
        let mem = MemTable::try_new(batches[0].schema(), vec![batches]).unwrap();
        ctx.register_table(name, Arc::new(mem)).unwrap();
    }
    let x0 = scalar(&ctx, "SELECT min(px) FROM pix")
        .await
        .parse::<i64>()
        .unwrap();
    let y0 = scalar(&ctx, "SELECT max(py) FROM pix")
        .await
        .parse::<i64>()
        .unwrap();
    let obs_filters = [
        format!("px BETWEEN {} AND {}", x0 + 30 * 3, x0 + 30 * 17 + 10),
        format!("py > {} AND row <> 12", y0 - 30 * 9),
        "date >= DATE '2014-07-01' AND date < '2015-02-01' AND col >= 20".to_string(),
        format!(
            "chip_x = {} AND chip_y IN ({}, {})",
            x0 + 8 * 30,
            y0,
            y0 - 8 * 30
        ),
        "tile IN ('h003v008', 'h001v001') AND row % 3 = 1".to_string(),
        "tile = 'h009v009'".to_string(),
    ];
    for filter in &obs_filters {
        for (raster, mem, aggregate) in [
            (
                "obs",
                "obs_mem",
                "count(*), sum(red), sum(qa), sum(px), min(date), max(date)",
            ),
            (
                "pix",
                "pix_mem",
                "count(*), sum(px), sum(py), sum(cardinality(dates)), sum(red[3])",
            ),
        ] {
            if raster == "pix" && filter.contains("date") {
                continue;
            }
            let sql = |t: &str| format!("SELECT {aggregate} FROM {t} AS t WHERE {filter}");
            let pushed = query(&ctx, &sql(raster)).await;
            let plain = query(&ctx, &sql(mem)).await;
            assert_eq!(pretty(&pushed), pretty(&plain), "{}", sql(raster));
        }
    }
}

#[tokio::test]
async fn batches_are_bounded_and_partitions_follow_chips() {
    let ctx = session(3);
    let table = register(
        &ctx,
        "pix",
        Layout::Pixels,
        &[("chip_size", "10"), ("batch_pixels", "25")],
    )
    .await;
    let plan = table.plan_scan(None, &[], None, 3);
    assert_eq!(plan.partitions().len(), 3);
    assert!(
        plan.partitions().iter().all(|p| p.len() == 3),
        "9 chips over 3 partitions"
    );
    let batches = query(&ctx, "SELECT px, red FROM pix").await;
    assert_eq!(rows(&batches), SIZE * SIZE);
    // 25 pixels a batch on 10-pixel-wide chips: strips of 2 rows, 20 pixels.
    assert!(
        batches.iter().all(|b| b.num_rows() <= 25),
        "{:?}",
        batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>()
    );

    let ctx = ardent_engine::session::local_session_with(
        Some(1),
        datafusion::prelude::SessionConfig::new().with_batch_size(200),
    );
    register(&ctx, "obs", Layout::Observations, &[("chip_size", "30")]).await;
    let plan = physical_plan(&ctx, "SELECT red FROM obs").await;
    let batches =
        datafusion::physical_plan::common::collect(plan.execute(0, ctx.task_ctx()).unwrap())
            .await
            .unwrap();
    // 200 rows a batch on a 30-pixel-wide chip: one acquisition of 6 rows, 180 observations.
    assert!(
        batches.iter().all(|b| b.num_rows() == 180),
        "{:?}",
        batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>()
    );
    assert_eq!(
        rows(&batches),
        SIZE * SIZE * acquisitions(stack()),
        "every observation"
    );
}

#[tokio::test]
async fn pixels_and_observations_hold_the_same_values() {
    let ctx = session(2);
    register(&ctx, "obs", Layout::Observations, &[]).await;
    register(&ctx, "pix", Layout::Pixels, &[]).await;
    // The k-th element of each pixel's lists is its k-th acquisition in date order.
    let from_pixels = query(
        &ctx,
        "SELECT row, col, d, r, q FROM (SELECT row, col, unnest(dates) AS d, unnest(red) AS r, unnest(qa) AS q FROM pix)
         ORDER BY row, col, d",
    )
    .await;
    let from_observations = query(
        &ctx,
        "SELECT row, col, date AS d, red AS r, qa AS q FROM obs ORDER BY row, col, d",
    )
    .await;
    assert_eq!(pretty(&from_pixels), pretty(&from_observations));
    let ascending = scalar(&ctx, "SELECT bool_and(array_sort(dates) = dates) FROM pix").await;
    assert_eq!(ascending, "true");
}

#[tokio::test]
async fn start_and_end_options_select_acquisitions() {
    let ctx = session(2);
    let table = register(
        &ctx,
        "pix",
        Layout::Pixels,
        &[("start", "2015-01-01"), ("end", "2015-06-30")],
    )
    .await;
    let day =
        |m, d| ardent_engine::catalog::date32(chrono::NaiveDate::from_ymd_opt(2015, m, d).unwrap());
    let expected = table.stack().tiles[0]
        .acquisitions
        .iter()
        .filter(|a| a.date >= day(1, 1) && a.date <= day(6, 30))
        .count();
    assert!(expected > 5);
    let range = scalar(
        &ctx,
        "SELECT concat(min(cardinality(dates)), '-', max(cardinality(dates))) FROM pix",
    )
    .await;
    assert_eq!(range, format!("{expected}-{expected}"));

    // A window with no acquisition: pixels with empty series, and no observations.
    register(&ctx, "none_pix", Layout::Pixels, &[("start", "2030-01-01")]).await;
    register(
        &ctx,
        "none_obs",
        Layout::Observations,
        &[("start", "2030-01-01")],
    )
    .await;
    let counts = scalar(
        &ctx,
        "SELECT concat((SELECT count(*) FROM none_pix WHERE cardinality(red) = 0), '/', (SELECT count(*) FROM none_obs))",
    )
    .await;
    assert_eq!(counts, format!("{}/0", SIZE * SIZE));
}

/// The scan knows its row count exactly, overall and per partition, and so does the table.
#[tokio::test]
async fn statistics_give_exact_row_counts() {
    use datafusion::catalog::TableProvider;
    use datafusion::common::stats::Precision;
    use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};
    let ctx = session(3);
    let table = register(&ctx, "obs", Layout::Observations, &[("chip_size", "10")]).await;
    let total = scalar(&ctx, "SELECT count(*) FROM (SELECT red FROM obs)").await;
    assert_eq!(
        table.statistics().unwrap().num_rows,
        Precision::Exact(total.parse().unwrap())
    );

    let sql = "SELECT red FROM obs WHERE row < 14 AND date >= DATE '2015-01-01'";
    let plan = physical_plan(&ctx, sql).await;
    let mut scan = None;
    let mut nodes = vec![Arc::clone(&plan)];
    while let Some(node) = nodes.pop() {
        if node
            .downcast_ref::<ardent_engine::provider::RasterScanExec>()
            .is_some()
        {
            scan = Some(Arc::clone(&node));
        }
        nodes.extend(node.children().into_iter().cloned());
    }
    let scan = scan.expect("a raster scan");
    let stats = StatisticsContext::new();
    let mut args = StatisticsArgs::new();
    let overall = stats.compute(scan.as_ref(), &args).unwrap().num_rows;
    let partitions = scan.properties().partitioning.partition_count();
    assert!(partitions > 1, "{partitions} partitions");
    let mut sum = 0;
    for k in 0..partitions {
        let batches =
            datafusion::physical_plan::common::collect(scan.execute(k, ctx.task_ctx()).unwrap())
                .await
                .unwrap();
        args.set_partition(Some(k));
        let expected = stats.compute(scan.as_ref(), &args).unwrap().num_rows;
        assert_eq!(expected, Precision::Exact(rows(&batches)), "partition {k}");
        sum += rows(&batches);
    }
    assert!(sum > 0);
    assert_eq!(overall, Precision::Exact(sum));
}

/// The scan estimates its size in memory, so a join of a stack's pixels with a table of one row
/// per pixel builds its hash table from that table, not from the (much larger) pixels.
#[tokio::test]
async fn joins_build_on_the_smaller_side_not_the_stack() {
    use datafusion::physical_plan::joins::HashJoinExec;
    use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};
    let ctx = session(2);
    register(&ctx, "pix", Layout::Pixels, &[]).await;
    let sql = "SELECT row, col, red, nir FROM pix";
    let mut estimate = None;
    visit(&physical_plan(&ctx, sql).await, &mut |node| {
        if node
            .downcast_ref::<ardent_engine::provider::RasterScanExec>()
            .is_some()
        {
            let stats = StatisticsContext::new().compute(node, &StatisticsArgs::new());
            estimate = stats.unwrap().total_byte_size.get_value().copied();
        }
    });
    let estimate = estimate.expect("a size estimate");
    let batches = query(&ctx, sql).await;
    let actual: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
    assert!(
        estimate <= actual && estimate * 2 >= actual,
        "estimated {estimate} bytes, the batches hold {actual}"
    );
    query(
        &ctx,
        "CREATE TABLE per_pixel AS SELECT row, col, row * 1000 + col AS id FROM pix",
    )
    .await;
    let plan = physical_plan(
        &ctx,
        "SELECT p.id, cardinality(x.red) FROM pix x JOIN per_pixel p ON x.row = p.row AND x.col = p.col",
    )
    .await;
    let mut joins = 0;
    visit(&plan, &mut |node| {
        if let Some(join) = node.downcast_ref::<HashJoinExec>() {
            let build = datafusion::physical_plan::displayable(join.left().as_ref()).indent(false);
            assert!(
                !build.to_string().contains("RasterScanExec"),
                "built from the stack:\n{build}"
            );
            joins += 1;
        }
    });
    assert_eq!(joins, 1);
}

/// A LIMIT without filters reads only the chips that hold enough rows.
#[tokio::test]
async fn limit_stops_the_scan_early() {
    let ctx = session(1);
    let table = register(&ctx, "obs", Layout::Observations, &[("chip_size", "10")]).await;
    let (limited, files_limited) = run_counting_files(&ctx, "SELECT red FROM obs LIMIT 7").await;
    assert_eq!(rows(&limited), 7);
    let plan = physical_plan(&ctx, "SELECT red FROM obs LIMIT 7").await;
    let scans = raster_scans(&plan);
    assert_eq!(scans.len(), 1);
    assert_eq!(
        scans[0].chips.len(),
        1,
        "one 10 x 10 chip holds 7 observations"
    );
    let unlimited = raster_scans(&physical_plan(&ctx, "SELECT red FROM obs").await);
    assert_eq!(unlimited[0].chips.len(), 9);
    let acquisitions = table.stack().tiles[0].acquisitions.len();
    assert!(
        (1..=acquisitions).contains(&files_limited),
        "{files_limited} files opened for 7 rows of one chip"
    );
}
