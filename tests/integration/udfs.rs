//! UDFs over real raster tables: list and scalar forms agree, composites match plain SQL.

use crate::common::*;

async fn ctx_with_tables() -> datafusion::prelude::SessionContext {
    let ctx = session(2);
    let location = stack().display();
    for (name, layout) in [("pix", "pixels"), ("obs", "observations")] {
        query(&ctx, &format!("CREATE EXTERNAL TABLE {name} STORED AS RASTER LOCATION '{location}' OPTIONS ('layout' '{layout}')")).await;
    }
    ctx
}

#[tokio::test]
async fn composite_median_equals_sql_median_of_clear_observations() {
    let ctx = ctx_with_tables().await;
    for stat in ["median", "mean", "max", "count"] {
        let sql_stat = if stat == "mean" { "avg" } else { stat };
        // Pixels without clear observations count 0 by the UDF, NULL through the outer join.
        let outer = if stat == "count" {
            "coalesce(v.v, 0)"
        } else {
            "v.v"
        };
        let by_udf = query(
            &ctx,
            &format!(
                "SELECT row, col, round(composite('{stat}', dates, ndvi(red, nir), qa, 'c1', DATE '2014-03-01', DATE '2015-03-01'), 9) AS v
                 FROM pix ORDER BY row, col"
            ),
        )
        .await;
        let by_sql = query(
            &ctx,
            &format!(
                "SELECT p.row, p.col, round(CAST({outer} AS DOUBLE), 9) AS v FROM (SELECT DISTINCT row, col FROM obs) p LEFT JOIN (
                   SELECT row, col, {sql_stat}(ndvi(red, nir)) AS v FROM obs
                   WHERE qa_clear(qa, 'c1') AND ndvi(red, nir) IS NOT NULL
                     AND date >= DATE '2014-03-01' AND date < DATE '2015-03-01'
                   GROUP BY row, col) v ON p.row = v.row AND p.col = v.col
                 ORDER BY p.row, p.col"
            ),
        )
        .await;
        assert_eq!(pretty(&by_udf), pretty(&by_sql), "{stat}");
    }
}

#[tokio::test]
async fn list_and_scalar_indices_agree() {
    let ctx = ctx_with_tables().await;
    let from_lists = scalar(
        &ctx,
        "SELECT round(sum(v), 6) FROM (SELECT unnest(ndvi(red, nir)) AS v FROM pix)",
    )
    .await;
    let from_scalars = scalar(&ctx, "SELECT round(sum(ndvi(red, nir)), 6) FROM obs").await;
    assert_eq!(from_lists, from_scalars);
    let nbr = scalar(&ctx, "SELECT count(*) FROM obs WHERE nbr(nir, swir2) IS NULL AND nir <> -9999 AND nir + swir2 <> 0").await;
    assert_eq!(nbr, "0", "nbr is defined wherever there is data");
    let classes = query(
        &ctx,
        "SELECT DISTINCT qa_class(qa, 'c1') AS c FROM obs ORDER BY c",
    )
    .await;
    let text = pretty(&classes);
    for class in ["clear", "cloud", "fill", "shadow", "water"] {
        assert!(text.contains(class), "{class} missing from {text}");
    }
    let clear_lists = scalar(
        &ctx,
        "SELECT sum(cardinality(array_remove_all(qa_clear(qa, 'c1'), false))) FROM pix",
    )
    .await;
    let clear_rows = scalar(&ctx, "SELECT count(*) FROM obs WHERE qa_clear(qa, 'c1')").await;
    assert_eq!(clear_lists, clear_rows);
}

#[tokio::test]
async fn udf_errors_are_clear() {
    let ctx = ctx_with_tables().await;
    for (sql, expected) in [
        (
            "SELECT ndvi(red, 'x') FROM obs",
            "ndvi: argument 2 must be a number or a list of numbers, not Utf8",
        ),
        (
            "SELECT ndvi(pix.red, obs.nir) FROM pix JOIN obs USING (row, col)",
            "both arguments must be lists",
        ),
    ] {
        let err = match ctx.sql(sql).await {
            Ok(df) => df.collect().await.err().map(|e| e.to_string()),
            Err(e) => Some(e.to_string()),
        }
        .unwrap_or_else(|| panic!("{sql} should fail"));
        assert!(err.contains(expected), "{sql}: {err}");
    }
}

/// Bad constant arguments fail while the query is planned, before any batch is read.
#[tokio::test]
async fn bad_constant_arguments_fail_at_planning() {
    let ctx = ctx_with_tables().await;
    for (sql, expected) in [
        ("SELECT qa_class(qa, 'c9') FROM obs", "qa_class: unknown QA scheme 'c9'"),
        ("SELECT qa_clear(qa, 'C3') FROM obs", "qa_clear: unknown QA scheme 'c3'"),
        ("SELECT composite('p90', dates, red, qa, 'c1', DATE '2014-01-01', DATE '2015-01-01') FROM pix", "composite: unknown composite statistic 'p90'"),
        ("SELECT composite('median', dates, red, qa, 'c7', DATE '2014-01-01', DATE '2015-01-01') FROM pix", "composite: unknown QA scheme 'c7'"),
    ] {
        let err = ctx
            .sql(sql)
            .await
            .err()
            .unwrap_or_else(|| panic!("{sql} should fail at planning"));
        assert!(
            matches!(err.find_root(), datafusion::error::DataFusionError::Plan(_)),
            "{sql}: not a planning error: {err}"
        );
        assert!(err.to_string().contains(expected), "{sql}: {err}");
    }
}

/// Every ardent UDF describes itself to `information_schema` (and so to `SHOW FUNCTIONS`).
#[tokio::test]
async fn udfs_are_documented() {
    let ctx = ctx_with_tables().await;
    for udf in ardent_udfs::all_udfs() {
        let name = udf.name();
        let described = scalar(
            &ctx,
            &format!("SELECT count(*) FROM information_schema.routines WHERE routine_name = '{name}' AND description IS NOT NULL AND length(description) > 20"),
        )
        .await;
        assert_ne!(described, "0", "{name} has no description");
        let syntax = scalar(
            &ctx,
            &format!("SELECT first_value(syntax_example) FROM information_schema.routines WHERE routine_name = '{name}'"),
        )
        .await;
        assert!(syntax.starts_with(&format!("{name}(")), "{name}: {syntax}");
        let documented = udf
            .documentation()
            .map_or(0, |d| d.arguments.as_ref().map_or(0, Vec::len));
        assert!(documented >= 2, "{name} documents {documented} arguments");
    }
}
