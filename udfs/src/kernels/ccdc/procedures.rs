//! pyccd's `procedures.py`: which procedure a pixel gets, the single-model procedures, and the
//! standard procedure (initialize, look-back, look-forward, catch), with the fit cache of a
//! model window.

use super::change::{
    adjust_change_threshold, adjust_peek, determine_num_coefs, enough_time, min, span, ClosestDoy,
};
use super::lasso::{self, Design, Fit, Row};
use super::numeric::{median, sum_of_squares};
use super::result::change_model;
use super::result::{Continuation, Step};
use super::variogram::adjusted_variogram;
use super::{qa, tmask, CcdResult, CcdcError, ChangeModel, Params};

/// A series sorted by date, QA decoded.
pub(super) struct Pixel {
    pub dates: Vec<i64>,
    pub spectra: [Vec<f64>; 7],
    pub quality: Vec<i64>,
}

#[derive(Debug, PartialEq)]
enum Procedure {
    Standard,
    PermanentSnow,
    InsufficientClear,
}

/// pyccd's `fit_procedure`, over the observations up to `STAT_ORD`; an update keeps the
/// procedure of the result it continues (`procedure_fromprev`), whatever the new data say.
fn choose_procedure(pixel: &Pixel, p: &Params, previous: Option<&CcdResult>) -> Procedure {
    if let Some(previous) = previous {
        return match previous.change_models.first().map(|m| m.curve_qa) {
            Some(qa) if qa == p.curve_qa.persist_snow => Procedure::PermanentSnow,
            Some(qa) if qa == p.curve_qa.insuf_clear => Procedure::InsufficientClear,
            _ => Procedure::Standard,
        };
    }
    let counts = qa::ClassCounts::of(
        pixel
            .dates
            .iter()
            .zip(&pixel.quality)
            .filter(|(d, _)| **d <= p.stat_ord)
            .map(|(_, q)| q),
        p,
    );
    // NaN (nothing but fill) is not enough.
    if counts.ratio_clear() >= p.clear_pct_threshold {
        Procedure::Standard
    } else if counts.ratio_snow() >= p.snow_pct_threshold {
        Procedure::PermanentSnow
    } else {
        Procedure::InsufficientClear
    }
}

/// One of pyccd's observation filters (`qa::standard_filter`, `qa::snow_filter`).
type ObservationFilter = fn(&[Vec<f64>; 7], &[i64], &[i64], &Params) -> Vec<bool>;

/// The permanent-snow and insufficient-clear procedures: one 4-coefficient model over everything
/// the filter keeps, dated by the whole series.
fn single_model(
    pixel: &Pixel,
    p: &Params,
    curve_qa: i64,
    filter: ObservationFilter,
) -> (Vec<ChangeModel>, Vec<bool>) {
    let mask = filter(&pixel.spectra, &pixel.quality, &pixel.dates, p);
    let kept: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
    if kept.len() < p.meow_size {
        return (Vec::new(), mask);
    }
    let rows: Vec<Row> = kept
        .iter()
        .map(|&i| lasso::matrix_row(pixel.dates[i] as f64, p.avg_days_yr))
        .collect();
    let design = Design::new(&rows, p.coefficient_min);
    let observed = pixel
        .spectra
        .each_ref()
        .map(|band| kept.iter().map(|&i| band[i]).collect::<Vec<f64>>());
    let fits = design.fit(&observed.each_ref().map(Vec::as_slice), p.lasso_max_iter);
    let last = pixel.dates[pixel.dates.len() - 1];
    let model = change_model(
        &fits,
        [pixel.dates[0], last, last],
        &[0.0; 7],
        kept.len(),
        0.0,
        curve_qa,
    );
    (vec![model], mask)
}

/// What a procedure found: the segments, the processing mask, and where the standard procedure
/// ran out of observations.
pub(super) type Found = (Vec<ChangeModel>, Vec<bool>, Option<Continuation>);

/// pyccd's `detect` after its input checks: the procedure `fit_procedure` chooses, run over the
/// pixel (continuing `previous` if given). The single-model procedures start afresh on an
/// update, as pyccd's do.
pub(super) fn run(
    pixel: Pixel,
    p: &Params,
    previous: Option<&CcdResult>,
) -> Result<Found, CcdcError> {
    let single = |curve_qa, filter| {
        let (models, mask) = single_model(&pixel, p, curve_qa, filter);
        (models, mask, None)
    };
    Ok(match choose_procedure(&pixel, p, previous) {
        Procedure::Standard => StandardProcedure::new(pixel, p.clone()).run(previous)?,
        Procedure::PermanentSnow => single(p.curve_qa.persist_snow, qa::snow_filter),
        Procedure::InsufficientClear => single(p.curve_qa.insuf_clear, qa::standard_filter),
    })
}

/// The fits of one window for the bands a step needs: the detection bands while a segment is
/// searched for, all seven for a segment that is reported. Fitting only those matters because
/// the blue and thermal fits are often the ones that run scikit-learn's full 1,000 iterations.
struct Models {
    fits: [Option<Fit>; 7],
    /// The number of coefficients they were fitted with.
    coefficients: usize,
}

impl Models {
    fn fitted(&self) -> impl Iterator<Item = (usize, &Fit)> {
        self.fits
            .iter()
            .enumerate()
            .filter_map(|(b, f)| f.as_ref().map(|f| (b, f)))
    }

    /// All seven fits, once every band has been fitted.
    fn all(self) -> Vec<Fit> {
        self.fits
            .into_iter()
            .map(|f| f.expect("every band fitted before a segment is reported"))
            .collect()
    }
}

impl std::ops::Index<usize> for Models {
    type Output = Fit;
    fn index(&self, band: usize) -> &Fit {
        self.fits[band]
            .as_ref()
            .expect("a step reads only the bands fitted for it")
    }
}

/// A window of positions among the observations the processing mask keeps, `start..stop`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Window {
    pub start: usize,
    pub stop: usize,
}

impl Window {
    pub fn new(start: usize, stop: usize) -> Self {
        Self { start, stop }
    }
    pub fn len(&self) -> usize {
        self.stop.saturating_sub(self.start)
    }
}

/// Where the standard procedure's loop is: the step it is at and the state it carries.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    step: Step,
    window: Window,
    /// Where `lookforward` resumes with its models fitted over this window (a continuation).
    fit_window: Option<Window>,
    previous_end: usize,
    start: bool,
}

impl Cursor {
    /// Detection from the first observation, or from a previous break at `begin`.
    fn at(begin: usize, meow: usize) -> Cursor {
        Cursor {
            step: Step::NextSegment,
            window: Window::new(begin, begin + meow),
            fit_window: None,
            previous_end: begin,
            start: begin == 0,
        }
    }

    fn continuation(&self, segments: usize) -> Continuation {
        Continuation {
            step: self.step,
            window: (self.window.start, self.window.stop),
            fit_window: self.fit_window.map(|w| (w.start, w.stop)),
            previous_end: self.previous_end,
            start: self.start,
            segments,
        }
    }
}

/// The standard procedure's state: the series (thermal in scaled Celsius), the processing mask
/// and the observations it keeps, and the parameters as adjusted for this series.
struct StandardProcedure {
    pixel: Pixel,
    p: Params,
    mask: Vec<bool>,
    /// Positions in the series of the observations the mask keeps.
    kept: Vec<usize>,
    /// Their dates.
    period: Vec<f64>,
    /// Coefficient-matrix rows of the series' observations (zeros for those the first mask
    /// drops).
    rows: Vec<Row>,
    variogram: [f64; 7],
    /// Where the detection first ran out of observations.
    continuation: Option<Continuation>,
    /// Whether the processing mask changed after that, which makes it unusable.
    mask_changed_after: bool,
    /// An update's models over its continuation's fit window, read from the stored segment
    /// that window's look-forward reported, for that look-forward to pick up with.
    stored_fits: Option<Models>,
}

impl StandardProcedure {
    fn new(mut pixel: Pixel, p: Params) -> Self {
        // kelvin_to_celsius: K x 10 becomes C x 100.
        for t in pixel.spectra[p.thermal_idx].iter_mut() {
            *t = *t * 10.0 - 27315.0;
        }
        let mask = qa::standard_filter(&pixel.spectra, &pixel.quality, &pixel.dates, &p);
        // Only observations the mask keeps are ever fitted or predicted (the mask only loses
        // observations), so only theirs are worth the trigonometry.
        let rows = pixel
            .dates
            .iter()
            .zip(&mask)
            .map(|(&d, &keep)| {
                if keep {
                    lasso::matrix_row(d as f64, p.avg_days_yr)
                } else {
                    [0.0; lasso::COLUMNS]
                }
            })
            .collect();
        let mut s = Self {
            pixel,
            p,
            mask,
            kept: Vec::new(),
            period: Vec::new(),
            rows,
            variogram: [0.0; 7],
            continuation: None,
            mask_changed_after: false,
            stored_fits: None,
        };
        s.refresh();
        s
    }

    /// Recomputes the kept observations after the mask changed.
    fn refresh(&mut self) {
        self.kept = (0..self.mask.len()).filter(|&i| self.mask[i]).collect();
        self.period = self
            .kept
            .iter()
            .map(|&i| self.pixel.dates[i] as f64)
            .collect();
    }

    /// Band `b` of the kept observations in `w`.
    fn observed(&self, b: usize, w: Window) -> Vec<f64> {
        self.kept[w.start..w.stop.min(self.kept.len())]
            .iter()
            .map(|&i| self.pixel.spectra[b][i])
            .collect()
    }

    fn dates(&self, w: Window) -> &[f64] {
        &self.period[w.start..w.stop.min(self.period.len())]
    }

    /// Drops kept observations (positions among the kept ones) from the mask.
    fn drop_kept(&mut self, positions: impl IntoIterator<Item = usize>) {
        for k in positions {
            self.mask[self.kept[k]] = false;
        }
        self.refresh();
        if self.continuation.take().is_some() {
            self.mask_changed_after = true;
        }
    }

    /// Notes the first step that needed observations past the series' end.
    fn ran_out(&mut self, at: &Cursor, segments: usize) {
        if self.continuation.is_none() && !self.mask_changed_after {
            self.continuation = Some(at.continuation(segments));
        }
    }

    /// Replaces the processing mask's first values with `prefix` (a stored result's), with the
    /// design rows of observations the first filter had dropped.
    fn set_mask_prefix(&mut self, prefix: &[bool]) {
        self.mask[..prefix.len()].copy_from_slice(prefix);
        for i in 0..prefix.len() {
            if self.mask[i] && self.rows[i] == [0.0; lasso::COLUMNS] {
                self.rows[i] = lasso::matrix_row(self.pixel.dates[i] as f64, self.p.avg_days_yr);
            }
        }
        self.refresh();
    }

    /// The coefficient-matrix rows of the kept observations in `w`.
    fn design_rows(&self, w: Window) -> Vec<Row> {
        self.kept[w.start..w.stop.min(self.kept.len())]
            .iter()
            .map(|&i| self.rows[i])
            .collect()
    }

    /// Fits `bands` over `w` with `coefficients` coefficients.
    fn fit(&self, w: Window, coefficients: usize, bands: &[usize]) -> Models {
        let rows = self.design_rows(w);
        let observed: Vec<Vec<f64>> = bands.iter().map(|&b| self.observed(b, w)).collect();
        let observed: Vec<&[f64]> = observed.iter().map(Vec::as_slice).collect();
        let mut models = Models {
            fits: Default::default(),
            coefficients,
        };
        let fits = Design::new(&rows, coefficients).fit(&observed, self.p.lasso_max_iter);
        for (&b, fit) in bands.iter().zip(fits) {
            models.fits[b] = Some(fit);
        }
        models
    }

    fn run(mut self, previous: Option<&CcdResult>) -> Result<Found, CcdcError> {
        let meow = self.p.meow_size;
        // The one-time statistics come from the first filter's mask, before an update's.
        let stat: Vec<usize> = (0..self.mask.len())
            .filter(|&i| self.mask[i] && self.pixel.dates[i] <= self.p.stat_ord)
            .collect();
        let (mut results, mut at) = match previous {
            Some(previous) => self.resume(previous)?,
            None => (Vec::new(), Cursor::at(0, meow)),
        };
        if self.kept.len() <= meow {
            return Ok((results, self.mask, None));
        }
        let stat_dates: Vec<i64> = stat.iter().map(|&i| self.pixel.dates[i]).collect();
        let peek = adjust_peek(&stat_dates, self.p.peek_size);
        self.p.change_threshold =
            adjust_change_threshold(peek, self.p.peek_size, self.p.change_threshold);
        self.p.peek_size = peek;
        let stat_spectra: [Vec<f64>; 7] =
            std::array::from_fn(|b| stat.iter().map(|&i| self.pixel.spectra[b][i]).collect());
        self.variogram = adjusted_variogram(&stat_dates, &stat_spectra);
        if self.variogram.iter().any(|v| v.is_nan()) {
            return Ok((results, self.mask, None));
        }
        if let Some(previous) = previous {
            if let Some((kept, cursor)) = self.continue_from(previous) {
                results = kept;
                at = cursor;
            }
        }

        loop {
            let n = self.kept.len();
            match at.step {
                Step::NextSegment => {
                    if at.window.stop + meow > n {
                        self.ran_out(&at, results.len());
                        break;
                    }
                    if !results.is_empty() {
                        at.start = false;
                    }
                    at.step = Step::Initialize;
                }
                Step::Initialize => {
                    let (w, models) = self.initialize(at.window);
                    at.window = w;
                    let Some(models) = models else {
                        self.ran_out(&at, results.len());
                        break;
                    };
                    if at.window.start > at.previous_end {
                        at.window = self.lookback(at.window, &models, at.previous_end)?;
                    }
                    if at.window.start - at.previous_end > peek && at.start {
                        results.push(self.catch(
                            Window::new(at.previous_end, at.window.start),
                            self.p.curve_qa.start,
                        ));
                        at.start = false;
                    }
                    at.step = Step::Extend;
                }
                Step::Extend => {
                    if at.window.stop + peek > n {
                        self.ran_out(&at, results.len());
                        break;
                    }
                    at.step = Step::LookForward;
                }
                Step::LookForward => {
                    let (model, w, ran_out) = self.lookforward(at.window, at.fit_window)?;
                    if let Some(fit_window) = ran_out {
                        let end = Cursor {
                            window: w,
                            fit_window: Some(fit_window),
                            ..at
                        };
                        self.ran_out(&end, results.len());
                    }
                    results.push(model);
                    at = Cursor {
                        start: at.start,
                        ..Cursor::at(w.stop, meow)
                    };
                }
            }
        }
        if at.previous_end + peek < self.kept.len() {
            let end = self.kept.len();
            results.push(self.catch(Window::new(at.previous_end, end), self.p.curve_qa.end));
        }
        Ok((results, self.mask, self.continuation))
    }

    /// Where an update continues when `previous` carries a continuation: the old run's state at
    /// its first step past its series' end, with its processing mask over the old series and
    /// the first filter's over the new observations. pyccd's restart at the last break reaches
    /// that same state (the same observations, masks and statistics lead to the same steps), so
    /// the answers are the same. `None` where that does not hold or cannot be checked: no
    /// continuation, no new observations, new observations within `STAT_ORD` (the statistics
    /// would differ), repeated dates in the old series (their order among themselves, which the
    /// sort does not fix, may differ from the old run's), or positions that do not fit.
    fn continue_from(&mut self, previous: &CcdResult) -> Option<(Vec<ChangeModel>, Cursor)> {
        let c = previous.continuation?;
        let old = &previous.processing_mask;
        let first_new = *self.pixel.dates.get(old.len())?;
        let repeated = self.pixel.dates[..old.len()]
            .windows(2)
            .any(|w| w[0] == w[1]);
        if first_new <= self.p.stat_ord || repeated || c.segments > previous.change_models.len() {
            return None;
        }
        let old_kept = old.iter().filter(|k| **k).count();
        let window = Window::new(c.window.0, c.window.1);
        let fit_window = c.fit_window.map(|(a, b)| Window::new(a, b));
        let fits = fit_window.is_none_or(|f| f.start < f.stop && f.stop <= window.stop);
        if c.previous_end > window.start || window.start > window.stop || window.start > old_kept {
            return None;
        }
        let looking_forward = c.step == Step::LookForward;
        if !fits || looking_forward != fit_window.is_some() {
            return None;
        }
        self.set_mask_prefix(old);
        // The look-forward must take at least one more step, or it reports the window it had.
        if looking_forward && window.stop + self.p.peek_size > self.kept.len() {
            return None;
        }
        if let Some(f) = fit_window {
            self.stored_fits = previous
                .change_models
                .get(c.segments)
                .and_then(|segment| self.stored_models(segment, window, f));
        }
        let cursor = Cursor {
            step: c.step,
            window,
            fit_window,
            previous_end: c.previous_end,
            start: c.start,
        };
        Some((previous.change_models[..c.segments].to_vec(), cursor))
    }

    /// The models of all seven bands over `fit_window` that a stored `segment` holds, if it is
    /// the one the look-forward over `window` reported when the series ran out: its fits, all
    /// seven bands over `fit_window`, are exactly the ones that look-forward resumes with. A
    /// segment with other days or a confirmed break is not that one, and the models are then
    /// fitted again.
    fn stored_models(
        &self,
        segment: &ChangeModel,
        window: Window,
        fit_window: Window,
    ) -> Option<Models> {
        let day = |k: usize| self.pixel.dates[self.kept[k]];
        let same = segment.change_probability == 0.0
            && window.stop <= self.kept.len()
            && segment.start_day == day(window.start)
            && segment.end_day == day(window.stop - 1);
        if !same {
            return None;
        }
        let coefficients = determine_num_coefs(fit_window.len(), &self.p);
        let rows = self.design_rows(fit_window);
        let fits = std::array::from_fn(|b| {
            let model = &segment.bands[b];
            let observed = self.observed(b, fit_window);
            Some(Fit::over(
                model.coefficients,
                model.intercept,
                &rows,
                &observed,
                coefficients,
            ))
        });
        Some(Models { fits, coefficients })
    }

    /// Where an update picks up (pyccd's `results_fromprev`, `prevmask` and `jumpstart`): the
    /// previous segments up to the last one that ended in a confirmed break, the previous
    /// processing mask before that break, and the model window, previous end and start flag
    /// of the detection that restarts there.
    fn resume(&mut self, previous: &CcdResult) -> Result<(Vec<ChangeModel>, Cursor), CcdcError> {
        let meow = self.p.meow_size;
        let mut kept = previous.change_models.clone();
        kept.sort_by_key(|m| m.start_day);
        // Segments after the last confirmed break (end fits) are detected again.
        let confirmed = kept.iter().rposition(|m| m.change_probability != 0.0);
        kept.truncate(confirmed.map_or(0, |last| last + 1));
        let Some(last) = kept.last() else {
            return Ok((kept, Cursor::at(0, meow)));
        };
        let stop = self
            .pixel
            .dates
            .iter()
            .position(|&d| d == last.break_day)
            .ok_or_else(|| {
                CcdcError::PreviousMismatch(format!(
                    "its last break (ordinal day {}) is not a date of the series",
                    last.break_day
                ))
            })?;
        let old_mask = previous.processing_mask.get(..stop).ok_or_else(|| {
            CcdcError::PreviousMismatch(format!(
                "its processing mask has {} values, the series {stop} before its last break",
                previous.processing_mask.len()
            ))
        })?;
        self.set_mask_prefix(old_mask);
        let begin = self
            .kept
            .iter()
            .position(|&i| self.pixel.dates[i] == last.break_day)
            .ok_or_else(|| {
                CcdcError::PreviousMismatch(format!(
                    "the observation of its last break (ordinal day {}) is not usable",
                    last.break_day
                ))
            })?;
        Ok((kept, Cursor::at(begin, meow)))
    }

    /// pyccd's `initialize`: a stable window of at least a year, Tmask outliers removed.
    fn initialize(&mut self, mut w: Window) -> (Window, Option<Models>) {
        let p = self.p.clone();
        while w.stop + p.meow_size < self.kept.len() {
            let dates = self.dates(w).to_vec();
            if !enough_time(&dates, p.day_delta) {
                w.stop += 1;
                continue;
            }
            let bands: [Vec<f64>; 7] = std::array::from_fn(|b| self.observed(b, w));
            let outliers = tmask::tmask(
                &dates,
                &bands.each_ref().map(Vec::as_slice),
                &self.variogram,
                &p.tmask_bands,
                p.t_const,
                p.avg_days_yr,
            );
            let count = outliers.iter().filter(|o| **o).count();
            if count == w.len() {
                w.stop += 1;
                continue;
            }
            let clean: Vec<f64> = dates
                .iter()
                .zip(&outliers)
                .filter(|(_, o)| !**o)
                .map(|(d, _)| *d)
                .collect();
            if !enough_time(&clean, p.day_delta) || clean.len() < p.meow_size {
                w.stop += 1;
                continue;
            }
            if count > 0 {
                let drop: Vec<usize> = (0..outliers.len())
                    .filter(|&j| outliers[j])
                    .map(|j| w.start + j)
                    .collect();
                self.drop_kept(drop);
                w.stop -= count;
            }
            let models = self.fit(w, 4, &p.detection_bands);
            if !self.stable(&models, w) {
                w = Window::new(w.start + 1, w.stop + 1);
                continue;
            }
            return (w, Some(models));
        }
        (w, None)
    }

    /// pyccd's `stable`.
    fn stable(&self, models: &Models, w: Window) -> bool {
        let dates = self.dates(w);
        let span = dates[dates.len() - 1] - dates[0];
        let checks = self.p.detection_bands.iter().map(|&b| {
            let m = &models[b];
            let rmse_norm = if self.variogram[b] >= m.rmse {
                self.variogram[b]
            } else {
                m.rmse
            };
            let slope = m.coefficients[0] * span;
            (slope.abs() + m.residual[0].abs() + m.residual[m.residual.len() - 1].abs()) / rmse_norm
        });
        sum_of_squares(&checks.collect::<Vec<f64>>()) < self.p.change_threshold
    }

    /// Absolute residuals of every band `models` holds at the series' observations `indices`
    /// (empty for the others).
    fn residuals(&self, models: &Models, indices: &[usize]) -> [Vec<f64>; 7] {
        let mut residuals: [Vec<f64>; 7] = Default::default();
        for (b, fit) in models.fitted() {
            residuals[b] = indices
                .iter()
                .map(|&i| (self.pixel.spectra[b][i] - fit.predict(&self.rows[i])).abs())
                .collect();
        }
        residuals
    }

    /// The series' observations at kept positions `positions`.
    fn observations(&self, positions: impl IntoIterator<Item = usize>) -> Vec<usize> {
        positions.into_iter().map(|k| self.kept[k]).collect()
    }

    /// pyccd's `change_magnitude` over the detection bands.
    fn magnitudes(&self, residuals: &[Vec<f64>; 7], comparison_rmse: &[f64]) -> Vec<f64> {
        // Params::check rejects an empty DETECTION_BANDS.
        let n = residuals[self.p.detection_bands[0]].len();
        (0..n)
            .map(|k| {
                let scaled: Vec<f64> = self
                    .p
                    .detection_bands
                    .iter()
                    .zip(comparison_rmse)
                    .map(|(&b, &c)| {
                        // np.maximum: NaN wins.
                        let rmse = if c.is_nan() {
                            c
                        } else {
                            self.variogram[b].max(c)
                        };
                        residuals[b][k] / rmse
                    })
                    .collect();
                sum_of_squares(&scaled)
            })
            .collect()
    }

    /// pyccd's `lookforward`: extends the window until a change is confirmed or the data end;
    /// the segment, its window, and the window last fitted if the data ended first. Given
    /// `fitted` (a continuation's), it picks up with the models fitted over that window.
    fn lookforward(
        &mut self,
        mut w: Window,
        fitted: Option<Window>,
    ) -> Result<(ChangeModel, Window, Option<Window>), CcdcError> {
        let p = self.p.clone();
        let peek = p.peek_size;
        let mut fit_window = fitted.unwrap_or(w);
        // Fitted with the coefficients the window's length gave them when they were fitted.
        let stored = self.stored_fits.take();
        let mut models: Option<Models> = fitted.map(|f| {
            stored.unwrap_or_else(|| {
                self.fit(f, determine_num_coefs(f.len(), &p), &p.detection_bands)
            })
        });
        let mut change = 0.0;
        let mut fit_span = span(&self.period, fit_window);
        let mut last = None;
        // The fit window's observations by day of year; the window changes only when refitted,
        // and outliers are dropped after it.
        let mut nearest_doy: Option<ClosestDoy> = None;
        while w.stop + peek <= self.kept.len() {
            let num_coefs = determine_num_coefs(w.len(), &p);
            let peek_window = Window::new(w.stop, w.stop + peek);
            let model_span = span(&self.period, w);
            if models.is_none() || w.len() < 24 || model_span >= 1.33 * fit_span {
                fit_window = w;
                fit_span = span(&self.period, fit_window);
                models = Some(self.fit(fit_window, num_coefs, &p.detection_bands));
            }
            let fits = models.as_ref().expect("fitted above");
            let peek_observations = self.observations(peek_window.start..peek_window.stop);
            let residuals = self.residuals(fits, &peek_observations);
            let comparison: Vec<f64> = if w.len() <= 24 {
                p.detection_bands.iter().map(|&b| fits[b].rmse).collect()
            } else {
                nearest_doy.take_if(|c| c.window() != fit_window);
                let closest = nearest_doy
                    .get_or_insert_with(|| ClosestDoy::new(&self.period, fit_window))
                    .select(&self.period, peek_window.stop - 1, 24);
                p.detection_bands
                    .iter()
                    .map(|&b| {
                        let nearest: Vec<f64> =
                            closest.iter().map(|&j| fits[b].residual[j]).collect();
                        sum_of_squares(&nearest).sqrt() / 4.0
                    })
                    .collect()
            };
            let magnitude = self.magnitudes(&residuals, &comparison);
            last = Some((peek_window, peek_observations, residuals, num_coefs));
            if min(&magnitude) > p.change_threshold {
                change = 1.0;
                break;
            } else if magnitude[0] > p.outlier_threshold {
                self.drop_kept([peek_window.start]);
                continue;
            }
            if w.stop + peek > self.kept.len() {
                break;
            }
            w.stop += 1;
        }
        let (peek_window, peek_observations, mut residuals, num_coefs) =
            last.ok_or(CcdcError::NoLookForward)?;
        // The segment's model: the other bands are fitted over the same window now (an outlier
        // dropped since lies after it, so the window's observations are the same), and their
        // residuals taken at the last peek window's observations.
        let mut fits = models.expect("fitted in the first pass");
        let others: Vec<usize> = (0..7).filter(|b| fits.fits[*b].is_none()).collect();
        let others = self.fit(fit_window, fits.coefficients, &others);
        let mut other_residuals = self.residuals(&others, &peek_observations);
        for (b, fit) in others.fits.into_iter().enumerate() {
            if fit.is_some() {
                fits.fits[b] = fit;
                residuals[b] = std::mem::take(&mut other_residuals[b]);
            }
        }
        let fits = fits.all();
        let magnitudes: [f64; 7] = std::array::from_fn(|b| median(&residuals[b]));
        let day = |k: usize| self.pixel.dates[self.kept[k]];
        let model = change_model(
            &fits,
            [day(w.start), day(w.stop - 1), day(peek_window.start)],
            &magnitudes,
            w.len(),
            change,
            num_coefs as i64,
        );
        Ok((model, w, (change == 0.0).then_some(fit_window)))
    }

    /// pyccd's `lookback`: extends the window backwards towards the previous break.
    fn lookback(
        &mut self,
        mut w: Window,
        models: &Models,
        previous_break: usize,
    ) -> Result<Window, CcdcError> {
        let peek = self.p.peek_size;
        while w.start > previous_break {
            // pyccd's reversed slices: start - 1 down to, but not including, the stop.
            let positions: Vec<usize> = if w.start - previous_break > peek {
                (w.start - peek + 1..w.start).rev().collect()
            } else if w.start <= peek {
                (0..w.start).rev().collect()
            } else {
                (previous_break..w.start).rev().collect()
            };
            if positions.is_empty() {
                return Err(CcdcError::EmptyLookback);
            }
            let residuals = self.residuals(models, &self.observations(positions.iter().copied()));
            let comparison: Vec<f64> = self
                .p
                .detection_bands
                .iter()
                .map(|&b| models[b].rmse)
                .collect();
            let magnitude = self.magnitudes(&residuals, &comparison);
            if min(&magnitude) > self.p.change_threshold {
                break;
            } else if magnitude[0] > self.p.outlier_threshold {
                self.drop_kept([positions[0]]);
                w = Window::new(w.start - 1, w.stop - 1);
                continue;
            }
            w = Window::new(positions[0], w.stop);
        }
        Ok(w)
    }

    /// pyccd's `catch`: a 4-coefficient model over a window that is not a full segment.
    fn catch(&self, w: Window, curve_qa: i64) -> ChangeModel {
        let fits = self
            .fit(w, self.p.coefficient_min, &[0, 1, 2, 3, 4, 5, 6])
            .all();
        let day = |k: usize| self.pixel.dates[self.kept[k]];
        let n = self.kept.len();
        let break_day = if w.stop >= n { day(n - 1) } else { day(w.stop) };
        change_model(
            &fits,
            [day(w.start), day(w.stop - 1), break_day],
            &[0.0; 7],
            w.len(),
            0.0,
            curve_qa,
        )
    }
}
