//! Filter pushdown: turning `WHERE` predicates on ids and dates into bounds the scan uses to skip
//! tiles, chips, rows, columns and acquisitions (and so files) it would otherwise read.

use std::collections::BTreeSet;
use std::fmt;

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown};

use crate::catalog::{date32, from_date32};
use crate::grid::Grid;

use super::columns::Column;
use super::Layout;

/// Inclusive bounds on an integer column; `None` is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl Range {
    fn narrow(&mut self, min: Option<i64>, max: Option<i64>) {
        if let Some(m) = min {
            self.min = Some(self.min.map_or(m, |x| x.max(m)));
        }
        if let Some(m) = max {
            self.max = Some(self.max.map_or(m, |x| x.min(m)));
        }
    }

    pub fn contains(&self, v: i64) -> bool {
        self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }

    pub fn is_unbounded(&self) -> bool {
        self.min.is_none() && self.max.is_none()
    }
}

/// What the pushed filters allow. The default allows everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanBounds {
    pub tiles: Option<BTreeSet<String>>,
    /// Date32 days.
    pub date: Range,
    pub chip_x: Range,
    pub chip_y: Range,
    pub px: Range,
    pub py: Range,
    pub row: Range,
    pub col: Range,
}

/// The column a filter side names, if it is one of `layout`'s columns.
fn column_of(expr: &Expr, layout: Layout) -> Option<Column> {
    let Expr::Column(c) = expr else { return None };
    Column::from_name(&c.name, layout)
}

fn literal(expr: &Expr) -> Option<&ScalarValue> {
    match expr {
        Expr::Literal(v, _) => Some(v),
        _ => None,
    }
}

/// An integer or date literal as i64 (dates as Date32 days).
fn int_value(v: &ScalarValue) -> Option<i64> {
    Some(match v {
        ScalarValue::Int8(Some(x)) => i64::from(*x),
        ScalarValue::Int16(Some(x)) => i64::from(*x),
        ScalarValue::Int32(Some(x)) => i64::from(*x),
        ScalarValue::Int64(Some(x)) => *x,
        ScalarValue::UInt8(Some(x)) => i64::from(*x),
        ScalarValue::UInt16(Some(x)) => i64::from(*x),
        ScalarValue::UInt32(Some(x)) => i64::from(*x),
        ScalarValue::UInt64(Some(x)) => i64::try_from(*x).ok()?,
        ScalarValue::Date32(Some(d)) => i64::from(*d),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => i64::from(date32(
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?,
        )),
        _ => return None,
    })
}

fn str_value(v: &ScalarValue) -> Option<String> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => Some(s.clone()),
        _ => None,
    }
}

fn flip(op: Operator) -> Operator {
    match op {
        Operator::Lt => Operator::Gt,
        Operator::LtEq => Operator::GtEq,
        Operator::Gt => Operator::Lt,
        Operator::GtEq => Operator::LtEq,
        other => other,
    }
}

impl ScanBounds {
    /// How far a filter can be pushed: `Exact` where the scan applies it fully (tile, chip, row, col,
    /// and date in the `observations` layout), `Inexact` for projected coordinates (the scan narrows
    /// the window, DataFusion filters again), `Unsupported` otherwise.
    pub fn support(expr: &Expr, layout: Layout) -> TableProviderFilterPushDown {
        let mut probe = ScanBounds::default();
        match probe.apply(expr, layout) {
            Some(true) => TableProviderFilterPushDown::Exact,
            Some(false) => TableProviderFilterPushDown::Inexact,
            None => TableProviderFilterPushDown::Unsupported,
        }
    }

    /// Bounds from all pushed filters; filters it cannot use are ignored (DataFusion keeps them).
    pub fn from_filters(filters: &[Expr], layout: Layout) -> ScanBounds {
        let mut bounds = ScanBounds::default();
        for f in filters {
            let mut candidate = bounds.clone();
            if candidate.apply(f, layout).is_some() {
                bounds = candidate;
            }
        }
        bounds
    }

    /// Narrows the bounds by `expr`. Returns whether the scan applies it exactly, or `None` if it
    /// cannot be used (the bounds may then be partly changed; callers work on a copy).
    fn apply(&mut self, expr: &Expr, layout: Layout) -> Option<bool> {
        match expr {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::And,
                right,
            }) => {
                let l = self.apply(left, layout)?;
                let r = self.apply(right, layout)?;
                Some(l && r)
            }
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let (target, op, value) = match (column_of(left, layout), column_of(right, layout))
                {
                    (Some(t), None) => (t, *op, literal(right)?),
                    (None, Some(t)) => (t, flip(*op), literal(left)?),
                    _ => return None,
                };
                self.compare(target, op, value)
            }
            Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }) => {
                let target = column_of(expr, layout)?;
                let low_exact = self.compare(target, Operator::GtEq, literal(low)?)?;
                let high_exact = self.compare(target, Operator::LtEq, literal(high)?)?;
                Some(low_exact && high_exact)
            }
            Expr::InList(in_list) if !in_list.negated => {
                if column_of(&in_list.expr, layout)? != Column::Tile {
                    return None;
                }
                let names = in_list
                    .list
                    .iter()
                    .map(|e| literal(e).and_then(str_value))
                    .collect::<Option<BTreeSet<_>>>()?;
                self.restrict_tiles(names);
                Some(true)
            }
            _ => None,
        }
    }

    fn restrict_tiles(&mut self, names: BTreeSet<String>) {
        self.tiles = Some(match self.tiles.take() {
            Some(existing) => existing.intersection(&names).cloned().collect(),
            None => names,
        });
    }

    fn compare(&mut self, target: Column, op: Operator, value: &ScalarValue) -> Option<bool> {
        if target == Column::Tile {
            if op != Operator::Eq {
                return None;
            }
            self.restrict_tiles(BTreeSet::from([str_value(value)?]));
            return Some(true);
        }
        let v = int_value(value)?;
        let (min, max) = match op {
            Operator::Eq => (Some(v), Some(v)),
            Operator::Gt => (Some(v.checked_add(1)?), None),
            Operator::GtEq => (Some(v), None),
            Operator::Lt => (None, Some(v.checked_sub(1)?)),
            Operator::LtEq => (None, Some(v)),
            _ => return None,
        };
        let (range, exact) = match target {
            Column::Date => (&mut self.date, true),
            Column::ChipX => (&mut self.chip_x, true),
            Column::ChipY => (&mut self.chip_y, true),
            Column::Row => (&mut self.row, true),
            Column::Col => (&mut self.col, true),
            // The scan narrows the window from projected bounds; DataFusion filters again.
            Column::Px => (&mut self.px, false),
            Column::Py => (&mut self.py, false),
            Column::Tile | Column::Dates | Column::Band(_) => return None,
        };
        range.narrow(min, max);
        Some(exact)
    }

    pub fn allows_tile(&self, tile: &str) -> bool {
        self.tiles.as_ref().is_none_or(|t| t.contains(tile))
    }

    /// The half-open column and row ranges of `grid` the bounds allow (from row/col and px/py).
    pub fn pixel_ranges(&self, grid: &Grid) -> ((usize, usize), (usize, usize)) {
        let size = grid.transform[1];
        let (x0, y0) = (grid.transform[0], grid.transform[3]);
        let clamp = |v: f64, n: usize| v.clamp(0.0, n as f64) as usize;
        let mut cols = (0, grid.width);
        let mut rows = (0, grid.height);
        let narrow = |range: &mut (usize, usize), lo: Option<f64>, hi: Option<f64>, n: usize| {
            if let Some(lo) = lo {
                range.0 = range.0.max(clamp(lo.ceil(), n));
            }
            if let Some(hi) = hi {
                range.1 = range.1.min(clamp(hi.floor() + 1.0, n));
            }
        };
        let f = |v: Option<i64>| v.map(|v| v as f64);
        narrow(&mut cols, f(self.col.min), f(self.col.max), grid.width);
        narrow(&mut rows, f(self.row.min), f(self.row.max), grid.height);
        // px = x0 + col * size; py = y0 - row * size (north-up).
        narrow(
            &mut cols,
            f(self.px.min).map(|p| (p - x0) / size),
            f(self.px.max).map(|p| (p - x0) / size),
            grid.width,
        );
        narrow(
            &mut rows,
            f(self.py.max).map(|p| (y0 - p) / size),
            f(self.py.min).map(|p| (y0 - p) / size),
            grid.height,
        );
        (cols, rows)
    }
}

impl fmt::Display for ScanBounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(tiles) = &self.tiles {
            parts.push(format!(
                "tile in [{}]",
                tiles.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        let show = |v: i64, date: bool| {
            if date {
                from_date32(v as i32).to_string()
            } else {
                v.to_string()
            }
        };
        for (name, range, date) in [
            ("date", &self.date, true),
            ("chip_x", &self.chip_x, false),
            ("chip_y", &self.chip_y, false),
            ("px", &self.px, false),
            ("py", &self.py, false),
            ("row", &self.row, false),
            ("col", &self.col, false),
        ] {
            match (range.min, range.max) {
                (None, None) => {}
                (Some(a), Some(b)) if a == b => parts.push(format!("{name} = {}", show(a, date))),
                (a, b) => parts.push(format!(
                    "{name} in [{}, {}]",
                    a.map_or("..".into(), |v| show(v, date)),
                    b.map_or("..".into(), |v| show(v, date))
                )),
            }
        }
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    #[test]
    fn classifies_filters() {
        use TableProviderFilterPushDown::*;
        let l = Layout::Observations;
        assert_eq!(
            ScanBounds::support(&col("tile").eq(lit("h003v008")), l),
            Exact
        );
        assert_eq!(
            ScanBounds::support(&col("chip_x").gt_eq(lit(5i64)), l),
            Exact
        );
        assert_eq!(ScanBounds::support(&col("px").lt(lit(5i64)), l), Inexact);
        assert_eq!(
            ScanBounds::support(&col("red").lt(lit(5i64)), l),
            Unsupported
        );
        assert_eq!(
            ScanBounds::support(&col("px").lt(lit(5i64)).or(col("px").gt(lit(9i64))), l),
            Unsupported
        );
        assert_eq!(
            ScanBounds::support(&col("date").gt(lit("2015-01-01")), Layout::Pixels),
            Unsupported
        );
    }

    #[test]
    fn combines_bounds() {
        let filters = [
            col("row").gt_eq(lit(10i64)).and(col("row").lt(lit(20i64))),
            col("row").between(lit(12i64), lit(40i64)),
            col("date").gt(lit(ScalarValue::Date32(Some(100)))),
            lit(3i64).gt(col("col")),
        ];
        let b = ScanBounds::from_filters(&filters, Layout::Observations);
        assert_eq!(
            b.row,
            Range {
                min: Some(12),
                max: Some(19)
            }
        );
        assert_eq!(
            b.date,
            Range {
                min: Some(101),
                max: None
            }
        );
        assert_eq!(
            b.col,
            Range {
                min: None,
                max: Some(2)
            }
        );
    }

    #[test]
    fn projected_bounds_become_pixel_ranges() {
        let grid = Grid::ard("h003v008".parse().unwrap(), 100, 100);
        let (x0, y0) = (grid.transform[0] as i64, grid.transform[3] as i64);
        let mut b = ScanBounds::default();
        b.px.narrow(Some(x0 + 30 * 10), Some(x0 + 30 * 19 + 5));
        b.py.narrow(Some(y0 - 30 * 50), None);
        assert_eq!(b.pixel_ranges(&grid), ((10, 20), (0, 51)));
    }
}
