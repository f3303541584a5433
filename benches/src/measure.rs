//! Timing: one warm-up, then the median of several runs.

use std::future::Future;
use std::time::Instant;

use serde::Serialize;

/// One engine's timed runs of one job.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    /// e.g. `ardent local`, `pyccd`, `spark`.
    pub engine: String,
    /// Cores the engine was given.
    pub cores: usize,
    /// Seconds per timed run.
    pub times: Vec<f64>,
    pub median: f64,
}

impl Measurement {
    pub fn new(engine: impl Into<String>, cores: usize, times: Vec<f64>) -> Self {
        let median = median(&times);
        Self {
            engine: engine.into(),
            cores,
            times,
            median,
        }
    }
}

/// The median of `times` (the mean of the middle two for an even count); NaN when empty.
///
/// ```
/// use ardent_benches::measure::median;
/// assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Runs `job` once to warm up, then `runs` times under the clock; returns the seconds per run and
/// the last run's answer. Progress goes to the log under `label`.
pub async fn timed<T, F, Fut>(label: &str, runs: usize, mut job: F) -> crate::Result<(Vec<f64>, T)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::Result<T>>,
{
    tracing::info!("{label}: warm-up");
    let mut answer = job().await?;
    let mut times = Vec::with_capacity(runs);
    for run in 1..=runs {
        let start = Instant::now();
        answer = job().await?;
        times.push(start.elapsed().as_secs_f64());
        tracing::info!("{label}: run {run}/{runs}: {:.3} s", times[run - 1]);
    }
    Ok((times, answer))
}
