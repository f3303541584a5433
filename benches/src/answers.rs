//! Whether engines gave the same answer: keyed lines (per pixel) and ordered result rows (SQL),
//! cells compared as numbers where both are numbers.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

/// The outcome of comparing one engine's answer with the reference (ardent local's).
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub engine: String,
    pub agree: bool,
    /// e.g. `1600/1600 pixels identical`, or the first differences.
    pub detail: String,
}

/// Two cells agree when equal as text, or as numbers within 1e-9 relative or one unit of the
/// sixth decimal: engines differ in decimal scale (`12.30` vs `12.3000`), and DataFusion
/// truncates a decimal average to six places where Spark rounds it.
///
/// ```
/// use ardent_benches::answers::cells_agree;
/// assert!(cells_agree("12.30", "12.3000"));
/// assert!(cells_agree("1995-03-15", "1995-03-15"));
/// assert!(cells_agree("25.778735", "25.778736"));
/// assert!(!cells_agree("0.25", "0.26"));
/// ```
pub fn cells_agree(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => {
            let diff = (x - y).abs();
            diff <= 1.5e-6 || diff <= 1e-9 * x.abs().max(y.abs())
        }
        _ => false,
    }
}

/// Reads an answer file of `key1,key2,value` lines (header first) into key -> value.
pub fn read_keyed(path: &Path) -> crate::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read answer '{}': {e}", path.display()))?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut parts = l.splitn(3, ',');
            let key = format!("{},{}", parts.next()?, parts.next()?);
            Some((key, parts.next().unwrap_or("").to_string()))
        })
        .collect())
}

/// Compares per-pixel answers keyed by `row,col`, values by `same`; names up to 3 differences.
pub fn compare_keyed(
    engine: &str,
    reference: &BTreeMap<String, String>,
    other: &BTreeMap<String, String>,
    same: impl Fn(&str, &str) -> bool,
) -> Check {
    let mut differing = Vec::new();
    let mut identical = 0;
    for (key, value) in reference {
        match other.get(key) {
            Some(v) if same(value, v) => identical += 1,
            Some(v) => differing.push(format!("pixel {key}: ardent {value} vs {engine} {v}")),
            None => differing.push(format!("pixel {key}: missing from {engine}")),
        }
    }
    let extra = other.keys().filter(|k| !reference.contains_key(*k)).count();
    let mut detail = format!("{identical}/{} pixels identical", reference.len());
    if extra > 0 {
        detail.push_str(&format!(", {extra} pixels only in {engine}"));
    }
    for d in differing.iter().take(3) {
        detail.push_str(&format!("; {d}"));
    }
    Check {
        engine: engine.to_string(),
        agree: differing.is_empty() && extra == 0,
        detail,
    }
}

/// Compares ordered result rows cell by cell; `Err` names the first difference.
pub fn compare_rows(reference: &[Vec<String>], other: &[Vec<String>]) -> Result<(), String> {
    if reference.len() != other.len() {
        return Err(format!("{} rows vs {}", reference.len(), other.len()));
    }
    for (i, (a, b)) in reference.iter().zip(other).enumerate() {
        if a.len() != b.len() || !a.iter().zip(b).all(|(x, y)| cells_agree(x, y)) {
            return Err(format!(
                "row {}: [{}] vs [{}]",
                i + 1,
                a.join(", "),
                b.join(", ")
            ));
        }
    }
    Ok(())
}

/// Reads a headerless CSV answer (as the Spark baseline writes it) into text rows.
pub fn read_csv_rows(path: &Path) -> crate::Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read answer '{}': {e}", path.display()))?;
    Ok(text.lines().map(split_csv_line).collect())
}

/// One CSV line into cells, with double-quoted cells (`"a, b"`, `""` for a quote) as Python's
/// csv module writes them.
fn split_csv_line(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().expect("a cell").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(String::new()),
            (c, _) => cells.last_mut().expect("a cell").push(c),
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_with_quotes_and_commas() {
        assert_eq!(
            split_csv_line(r#"1,"a, ""b""",,x"#),
            vec!["1", r#"a, "b""#, "", "x"]
        );
    }

    #[test]
    fn keyed_answers_name_what_differs() {
        let a: BTreeMap<_, _> = [
            ("0,0".to_string(), "1".to_string()),
            ("0,1".into(), "2".into()),
        ]
        .into();
        let b: BTreeMap<_, _> = [
            ("0,0".to_string(), "1".to_string()),
            ("0,1".into(), "3".into()),
        ]
        .into();
        let check = compare_keyed("x", &a, &b, |p, q| p == q);
        assert!(!check.agree);
        assert!(
            check.detail.contains("1/2 pixels identical"),
            "{}",
            check.detail
        );
        assert!(
            check.detail.contains("pixel 0,1: ardent 2 vs x 3"),
            "{}",
            check.detail
        );
        assert!(compare_keyed("x", &a, &a, |p, q| p == q).agree);
    }

    #[test]
    fn rows_compare_numerically() {
        let a = vec![vec!["A".to_string(), "1.50".to_string()]];
        let b = vec![vec!["A".to_string(), "1.5".to_string()]];
        assert!(compare_rows(&a, &b).is_ok());
        let c = vec![vec!["A".to_string(), "1.6".to_string()]];
        assert!(compare_rows(&a, &c).unwrap_err().contains("row 1"));
    }
}
