//! What can go wrong running CCDC on a pixel.

use super::qa::UNCLASSIFIED_NOTE;

/// An error of the CCDC kernel: bad parameters (naming the key) or bad data (naming the value).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CcdcError {
    /// The parameters are not a JSON object of pyccd's keys, or a value is out of range.
    #[error("CCDC parameters: {0}")]
    Params(String),
    /// The series is empty.
    #[error("CCDC needs at least one observation")]
    NoObservations,
    /// The lists of one pixel differ in length.
    #[error("CCDC inputs differ in length: {dates} dates, {qa} QA values, bands of {bands:?}")]
    LengthMismatch {
        dates: usize,
        qa: usize,
        bands: [usize; 7],
    },
    /// A Collection 1 value with none of the flags pyccd decodes.
    #[error("unsupported bit-packed QA value {value} ({UNCLASSIFIED_NOTE})")]
    UnsupportedQa { value: i64 },
    /// A look-back window came out empty, which only a tiny `PEEK_SIZE` allows.
    #[error("CCDC: empty look-back window (PEEK_SIZE too small)")]
    EmptyLookback,
    /// The series ends before a look-forward window fits, where pyccd fails too.
    #[error("CCDC: no room to look forward (pyccd fails here too)")]
    NoLookForward,
    /// A previous result to update does not fit the series: its last kept segment breaks on a
    /// day the series lacks, or its processing mask is shorter than the old series.
    #[error("CCDC update: the previous result does not fit this series: {0}")]
    PreviousMismatch(String),
}
