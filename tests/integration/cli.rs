//! The `ardent` command line: synth, sql (formats, several statements, files), master URLs.

use crate::common::*;

fn table_sql(layout: &str) -> String {
    format!(
        "CREATE EXTERNAL TABLE ard STORED AS RASTER LOCATION '{}' OPTIONS ('layout' '{layout}');",
        stack().display()
    )
}

#[test]
fn synth_then_sql_counts_pixels_and_observations() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let o = ardent(&[
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--size",
        "25",
        "--start",
        "2015-01-01",
        "--end",
        "2015-12-31",
        "--seed",
        "7",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("acquisitions"), "{}", stdout(&o));
    let n_acq = acquisitions(&out);
    assert!(n_acq > 30, "{n_acq}");

    let location = out.to_str().unwrap();
    let sql = format!(
        "CREATE EXTERNAL TABLE p STORED AS RASTER LOCATION '{location}';
         CREATE EXTERNAL TABLE o STORED AS RASTER LOCATION '{location}' OPTIONS ('layout' 'observations');
         SELECT (SELECT count(*) FROM p) AS pixels, (SELECT count(*) FROM o) AS observations;"
    );
    let o = ardent(&["sql", "--format", "csv", &sql]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("pixels,observations\n{},{}\n", 25 * 25, 25 * 25 * n_acq)
    );
}

#[test]
fn output_formats_and_script_files() {
    let sql = format!("{} SELECT row, col, cardinality(dates) AS n FROM ard WHERE row = 0 AND col < 2 ORDER BY col", table_sql("pixels"));
    let n = acquisitions(stack());

    let csv = ardent(&["sql", "--format", "csv", &sql]);
    assert!(csv.status.success(), "{}", stderr(&csv));
    assert_eq!(stdout(&csv), format!("row,col,n\n0,0,{n}\n0,1,{n}\n"));

    let json = ardent(&["sql", "--format", "json", &sql]);
    let lines: Vec<serde_json::Value> = stdout(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["col"], 1);
    assert_eq!(lines[1]["n"], n as u64);

    let table = ardent(&["sql", &sql]);
    assert!(
        stdout(&table).contains("| row | col | n "),
        "{}",
        stdout(&table)
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(&file, &sql).unwrap();
    let from_file = ardent(&["sql", "--format", "csv", "-f", file.to_str().unwrap()]);
    assert_eq!(stdout(&from_file), stdout(&csv));
}

#[test]
fn table_functions_match_external_tables() {
    let location = stack().display().to_string();
    let sql = format!(
        "SELECT (SELECT count(*) FROM raster_pixels('{location}')) AS p,
                (SELECT count(*) FROM raster_observations('{location}', 'bands', 'red,qa')) AS o"
    );
    let o = ardent(&["sql", "--format", "csv", &sql]);
    assert!(o.status.success(), "{}", stderr(&o));
    let n = acquisitions(stack());
    assert_eq!(
        stdout(&o),
        format!("p,o\n{},{}\n", SIZE * SIZE, SIZE * SIZE * n)
    );
}

#[test]
fn master_urls() {
    let sql = format!("{} SELECT count(*) AS n FROM ard", table_sql("pixels"));
    for master in ["local", "local[1]", "local[*]"] {
        let o = ardent(&["sql", "--master", master, "--format", "csv", &sql]);
        assert_eq!(
            stdout(&o),
            format!("n\n{}\n", SIZE * SIZE),
            "{master}: {}",
            stderr(&o)
        );
    }
    // ARDENT_MASTER is obeyed: local[2] plans two partitions where local[1] plans one.
    let explain = format!(
        "CREATE EXTERNAL TABLE ard STORED AS RASTER LOCATION '{}' OPTIONS ('chip_size' '10'); EXPLAIN SELECT red FROM ard",
        stack().display()
    );
    for (master, partitions) in [("local[2]", "partitions=2"), ("local[1]", "partitions=1")] {
        let from_env = std::process::Command::new(ardent_bin())
            .args(["sql", "--format", "csv", &explain])
            .env("ARDENT_MASTER", master)
            .output()
            .unwrap();
        assert!(
            from_env.status.success(),
            "{}",
            String::from_utf8_lossy(&from_env.stderr)
        );
        let plan = String::from_utf8_lossy(&from_env.stdout);
        assert!(plan.contains(partitions), "{master}: {plan}");
    }

    let unknown = ardent(&["sql", "--master", "yarn://cluster:8032", "SELECT 1"]);
    assert_clean_failure(&unknown, &["yarn://", "local[N]"]);
    let no_host = ardent(&["sql", "--master", "mesos://", "SELECT 1"]);
    assert_clean_failure(&no_host, &["mesos://", "no scheduler host"]);
    // Nothing listens on a port just released: a bounded failure naming the URL.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A guard against a hang, four times the 5 s connect timeout; not a speed target.
    let started = std::time::Instant::now();
    let url = format!("df://127.0.0.1:{port}");
    let unreachable = ardent(&["sql", "--master", &url, "SELECT 1"]);
    assert_clean_failure(&unreachable, &[&url, "cannot reach"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let bad_n = ardent(&["sql", "--master", "local[0]", "SELECT 1"]);
    assert_clean_failure(&bad_n, &["local[0]"]);
}
