//! Output files written so that a failure leaves nothing that looks like a result.

use std::path::{Path, PathBuf};

/// An output file that could not be written; nothing was left under its name.
#[derive(Debug, thiserror::Error)]
#[error("cannot write '{}': {reason}", path.display())]
pub struct OutputError {
    pub path: PathBuf,
    pub reason: String,
}

/// Runs `write` on a temporary path beside `path` (same folder, hidden name, same extension, so
/// writers that pick a format by extension still do) and renames it into place when it succeeds.
/// On failure the temporary file is removed.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), OutputError> {
    let failed = |reason: String| OutputError {
        path: path.to_path_buf(),
        reason,
    };
    let partial = partial_path(path).ok_or_else(|| failed("not a file path".into()))?;
    let result =
        write(&partial).and_then(|()| std::fs::rename(&partial, path).map_err(|e| e.to_string()));
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result.map_err(failed)
}

/// `dir/.name.partial.ext` for `dir/name.ext`.
fn partial_path(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_string_lossy();
    let extension = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    Some(path.with_file_name(format!(".{name}.partial{extension}")))
}
