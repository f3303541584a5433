//! Inference with a gradient-boosted tree classifier saved by XGBoost (`Booster.save_model` to a
//! `.json` file, XGBoost 1.6 or later), as LCMAP's land-cover classifier was: `multi:softprob`
//! probabilities equal to XGBoost's own `predict` to float rounding.
//!
//! Written here rather than bound: the XGBoost crates build the C++ library (CMake, minutes of
//! build on every fresh machine and executor image) and the pure-Rust GBDT crates read other
//! formats or only regression models. Evaluating saved trees is small and XGBoost documents the
//! JSON schema (`doc/model.schema` in its repository).
//!
//! ```
//! use ardent_udfs::kernels::booster::Booster;
//! // One tree per class, each a single split on feature 0 at 0.5.
//! let tree = |left: f32, right: f32| serde_json::json!({
//!     "left_children": [1, -1, -1], "right_children": [2, -1, -1],
//!     "split_indices": [0, 0, 0], "split_conditions": [0.5, left, right],
//!     "default_left": [1, 0, 0], "split_type": [0, 0, 0]
//! });
//! let model = serde_json::json!({"learner": {
//!     "learner_model_param": {"base_score": "5E-1", "num_class": "2", "num_feature": "1"},
//!     "objective": {"name": "multi:softprob"},
//!     "gradient_booster": {"name": "gbtree", "model": {
//!         "tree_info": [0, 1], "trees": [tree(1.0, -1.0), tree(-1.0, 1.0)]}}}});
//! let booster = Booster::from_json(&model.to_string()).unwrap();
//! let p = booster.predict(&[0.0]).unwrap();
//! assert!(p[0] > 0.8 && (p[0] + p[1] - 1.0).abs() < 1e-6);
//! ```

use serde::Deserialize;

/// Why a file is not a model this module can evaluate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BoosterError {
    #[error("not an XGBoost JSON model: {0}")]
    Format(String),
    #[error("unsupported XGBoost model: {0}")]
    Unsupported(String),
    #[error("the model takes {expected} features, got {got}")]
    Features { expected: usize, got: usize },
}

/// A saved multi-class XGBoost model (`multi:softprob` or `multi:softmax`).
#[derive(Debug, Clone, PartialEq)]
pub struct Booster {
    classes: usize,
    features: usize,
    base_margin: f32,
    /// The nodes of every tree, one after another.
    nodes: Vec<Node>,
    /// Each tree's root in `nodes`, with the class it adds to.
    trees: Vec<(usize, usize)>,
}

/// One node of a tree in 8 bytes, its children side by side, so that a step of a walk reads
/// one cache line and the forest's nodes take half the cache that XGBoost's arrays would: a
/// model of LCMAP's size (4,500 trees of depth 8) is larger than the caches, and walking it is
/// most of what inference costs.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    /// A split's threshold, or a leaf's value.
    value: f32,
    /// A split's feature (the low `FEATURE_BITS`), the distance from this node to its left
    /// child (the right one follows it; 0 at a leaf), and `DEFAULT_LEFT` where a missing
    /// value goes left.
    link: u32,
}

const FEATURE_BITS: u32 = 12;
const FEATURE_MASK: u32 = (1 << FEATURE_BITS) - 1;
const DEFAULT_LEFT: u32 = 1 << 31;
/// The largest distance from a node to its left child (nodes laid out a tree level after
/// another, it is at most the width of two levels).
const MAX_CHILD_OFFSET: u32 = (DEFAULT_LEFT >> FEATURE_BITS) - 1;

impl Node {
    fn feature(self) -> usize {
        (self.link & FEATURE_MASK) as usize
    }

    fn is_leaf(self) -> bool {
        self.distance() == 0
    }

    /// The distance from this node to its left child (0 at a leaf).
    fn distance(self) -> u32 {
        (self.link & !DEFAULT_LEFT) >> FEATURE_BITS
    }

    /// The position of the left child, the node being at `at`.
    fn left(self, at: u32) -> u32 {
        at + self.distance()
    }
}

/// Rows predicted together, tree by tree, so each tree is read once per block rather than once
/// per row (XGBoost's CPU predictor blocks rows alike). Measured: 1,024 rows (about 130 groups
/// of a segment's dates; their features, 250 KiB, stay in the core's cache) beat 256 and 64.
const BLOCK: usize = 1024;

/// One regression tree in XGBoost's flat layout: node `i`'s children, split feature and
/// threshold, or (at a leaf, where the children are -1) its value in `split_conditions`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Tree {
    left_children: Vec<i32>,
    right_children: Vec<i32>,
    split_indices: Vec<u32>,
    split_conditions: Vec<f32>,
    default_left: Vec<u8>,
    #[serde(default)]
    split_type: Vec<u8>,
}

#[derive(Deserialize)]
struct File {
    learner: Learner,
}

#[derive(Deserialize)]
struct Learner {
    learner_model_param: ModelParam,
    objective: Objective,
    gradient_booster: GradientBooster,
}

#[derive(Deserialize)]
struct ModelParam {
    base_score: String,
    num_class: String,
    num_feature: String,
}

#[derive(Deserialize)]
struct Objective {
    name: String,
}

#[derive(Deserialize)]
struct GradientBooster {
    name: String,
    model: Option<Forest>,
}

#[derive(Deserialize)]
struct Forest {
    trees: Vec<Tree>,
    tree_info: Vec<usize>,
}

impl Tree {
    fn check(&self, features: usize) -> Result<(), BoosterError> {
        let n = self.left_children.len();
        let sizes = [
            self.right_children.len(),
            self.split_indices.len(),
            self.split_conditions.len(),
            self.default_left.len(),
        ];
        if n == 0 || sizes.iter().any(|&s| s != n) {
            return Err(BoosterError::Format(
                "a tree's node arrays differ in length".into(),
            ));
        }
        if self.split_type.iter().any(|&t| t != 0) {
            return Err(BoosterError::Unsupported("categorical splits".into()));
        }
        for i in 0..n {
            let (l, r) = (self.left_children[i], self.right_children[i]);
            let leaf = l == -1;
            // Children come after their parent in XGBoost's layout, which also rules out cycles.
            let child_ok = |c: i32| c > i as i32 && (c as usize) < n;
            if !leaf && (!child_ok(l) || !child_ok(r) || self.split_indices[i] as usize >= features)
            {
                return Err(BoosterError::Format(format!("tree node {i} is malformed")));
            }
        }
        Ok(())
    }

    /// Appends the tree's nodes to `nodes` a level after another, each node's children side by
    /// side; nodes no walk reaches (XGBoost keeps pruned ones) are left out.
    fn append_to(&self, nodes: &mut Vec<Node>) -> Result<(), BoosterError> {
        // XGBoost's node ids in the new order; a node's children are pushed as it is laid out.
        let mut order = vec![0usize];
        let mut placed = vec![false; self.left_children.len()];
        placed[0] = true;
        let mut at = 0;
        while let Some(&i) = order.get(at) {
            let value = self.split_conditions[i];
            let link = if self.left_children[i] == -1 {
                0
            } else {
                let offset = (order.len() - at) as u32;
                if offset > MAX_CHILD_OFFSET {
                    return Err(BoosterError::Unsupported(format!(
                        "a tree more than {MAX_CHILD_OFFSET} nodes wide"
                    )));
                }
                for child in [self.left_children[i], self.right_children[i]] {
                    let child = child as usize;
                    if std::mem::replace(&mut placed[child], true) {
                        return Err(BoosterError::Format(format!(
                            "tree node {child} has two parents"
                        )));
                    }
                    order.push(child);
                }
                let default_left = if self.default_left[i] != 0 {
                    DEFAULT_LEFT
                } else {
                    0
                };
                self.split_indices[i] | offset << FEATURE_BITS | default_left
            };
            nodes.push(Node { value, link });
            at += 1;
        }
        Ok(())
    }
}

/// Whether `row` goes left at the split `node`: NaN (missing) follows the node's default
/// direction, else values below the threshold go left, as XGBoost's predictor does.
fn goes_left(node: Node, row: &[f32]) -> bool {
    let value = row[node.feature()];
    // NaN compares false; no branch: a split's direction is as good as random.
    (value < node.value) | (value.is_nan() & (node.link & DEFAULT_LEFT != 0))
}

/// One step of a part's walk from the node at `at`, the part's rows' values of each feature
/// `k` lying in `bounds[k]` (lowest, highest): the child they all go to and `true`, or `at`
/// and `false` at a leaf or where the rows may part (the threshold between their bounds, or a
/// value missing: NaN bounds).
///
/// Computed as numbers, without a branch or a conditional move (which LLVM may turn into a
/// branch): which way a split goes is as good as random, and mispredicted branches would cost
/// more than the step.
#[inline(always)]
fn step_together(nodes: &[Node], at: u32, bounds: &[[f32; 2]]) -> (u32, bool) {
    let node = nodes[at as usize];
    // A leaf's feature is 0, whose bounds are there, and its distance 0.
    let [lowest, highest] = bounds[node.feature()];
    let right = u32::from(lowest >= node.value);
    let distance = node.distance();
    let moves = (u32::from(highest < node.value) | right) & u32::from(distance != 0);
    (at + moves * (distance + right), moves != 0)
}

/// How many groups walk a tree in step: their walks are independent, so the reads of one's
/// next node overlap with the others' steps instead of waiting one after another.
const LANES: usize = 8;

/// Rows of one group on their way down a tree together: `order[start..end]` of a
/// [`TreeDescent`], all at `node`.
#[derive(Clone, Copy)]
struct Part {
    node: u32,
    /// Where the group's bounds are in [`TreeDescent::bounds`].
    bounds: u32,
    start: u32,
    end: u32,
}

/// The walks of a block's groups down one tree after another. A group's rows go down together
/// while every split sends them all the same way, which the bounds of their values tell
/// without looking at the rows: the rows of a segment differ only in the date's features,
/// which a split rarely falls between. Groups walk in step, [`LANES`] at a time, as far as a
/// leaf or a split between their rows; from there every part of every group takes its next
/// step before any takes the one after, and rows are partitioned where they part. Keeps its
/// buffers between trees.
#[derive(Default)]
struct TreeDescent {
    /// The block's rows (positions in the batch), each group's together in its range; a walk
    /// partitions a group's range in place as its rows part.
    order: Vec<u32>,
    /// Each group's walk from the root.
    roots: Vec<Part>,
    /// The lowest and highest value of feature k among group g's rows, at `g * features + k`
    /// (NaN, which decides no split, where one is missing).
    bounds: Vec<[f32; 2]>,
    parts: Vec<Part>,
    next: Vec<Part>,
}

impl TreeDescent {
    /// Starts a block of consecutive groups of `groups[g]` rows each, the first at row `first`
    /// of `batch` (rows of `features` values).
    fn block(&mut self, (batch, features): (&[f32], usize), groups: &[usize], first: usize) {
        self.roots.clear();
        self.bounds.clear();
        self.bounds.resize(groups.len() * features, [f32::NAN; 2]);
        let mut end = 0;
        for (g, (&size, bounds)) in groups
            .iter()
            .zip(self.bounds.chunks_exact_mut(features))
            .enumerate()
        {
            let start = end;
            end += size;
            if size > 0 {
                let rows = &batch[(first + start) * features..(first + end) * features];
                value_bounds(rows, bounds);
                self.roots.push(Part {
                    node: 0,
                    bounds: (g * features) as u32,
                    start: start as u32,
                    end: end as u32,
                });
            }
        }
        self.order.clear();
        self.order.extend(first as u32..(first + end) as u32);
    }

    /// Takes every row of the block from `root` to a leaf, calling `reach(row, leaf value)`
    /// once for each row (in no particular order).
    fn run(
        &mut self,
        (nodes, root): (&[Node], u32),
        (batch, features): (&[f32], usize),
        mut reach: impl FnMut(usize, f32),
    ) {
        let Self {
            order,
            roots,
            bounds,
            parts,
            next,
        } = self;
        let row = |r: u32| &batch[r as usize * features..(r as usize + 1) * features];
        let bounds_of = |part: &Part| &bounds[part.bounds as usize..][..features];
        parts.clear();
        let mut lanes = roots.chunks_exact(LANES);
        for lanes in lanes.by_ref() {
            let bounds: [_; LANES] = std::array::from_fn(|lane| bounds_of(&lanes[lane]));
            let mut at = [root; LANES];
            // A walk that stopped stays where it is while the others step.
            let mut moving = true;
            while moving {
                moving = false;
                for lane in 0..LANES {
                    let (node, moved) = step_together(nodes, at[lane], bounds[lane]);
                    at[lane] = node;
                    moving |= moved;
                }
            }
            parts.extend(
                lanes
                    .iter()
                    .zip(at)
                    .map(|(&part, node)| Part { node, ..part }),
            );
        }
        // The last few walk from the root as parts do.
        parts.extend(
            lanes
                .remainder()
                .iter()
                .map(|&part| Part { node: root, ..part }),
        );
        while !parts.is_empty() {
            next.clear();
            for &part in parts.iter() {
                let node = nodes[part.node as usize];
                let rows = &mut order[part.start as usize..part.end as usize];
                if node.is_leaf() {
                    rows.iter().for_each(|&r| reach(r as usize, node.value));
                    continue;
                }
                if let (node, true) = step_together(nodes, part.node, bounds_of(&part)) {
                    next.push(Part { node, ..part });
                    continue;
                }
                // Rows going left to the front, the others to the back.
                let (mut left, mut right) = (0, rows.len());
                while left < right {
                    if goes_left(node, row(rows[left])) {
                        left += 1;
                    } else {
                        right -= 1;
                        rows.swap(left, right);
                    }
                }
                let middle = part.start + left as u32;
                let left_child = node.left(part.node);
                if middle > part.start {
                    next.push(Part {
                        node: left_child,
                        end: middle,
                        ..part
                    });
                }
                if middle < part.end {
                    next.push(Part {
                        node: left_child + 1,
                        start: middle,
                        ..part
                    });
                }
            }
            std::mem::swap(parts, next);
        }
    }
}

/// The lowest and highest value of each feature among `rows` (rows of `bounds.len()` values),
/// NaN where one is missing.
fn value_bounds(rows: &[f32], bounds: &mut [[f32; 2]]) {
    let features = bounds.len();
    let (first, rest) = rows.split_at(features);
    for (b, &v) in bounds.iter_mut().zip(first) {
        *b = [v, v];
    }
    for other in rest.chunks_exact(features) {
        for (b, &v) in bounds.iter_mut().zip(other) {
            *b = if v.is_nan() || b[0].is_nan() {
                [f32::NAN; 2]
            } else {
                [b[0].min(v), b[1].max(v)]
            };
        }
    }
}

impl Booster {
    /// Reads a model saved as JSON by XGBoost.
    pub fn from_json(text: &str) -> Result<Booster, BoosterError> {
        let file: File =
            serde_json::from_str(text).map_err(|e| BoosterError::Format(e.to_string()))?;
        let l = file.learner;
        if !matches!(
            l.objective.name.as_str(),
            "multi:softprob" | "multi:softmax"
        ) {
            return Err(BoosterError::Unsupported(format!(
                "objective '{}' (a multi-class classifier is expected)",
                l.objective.name
            )));
        }
        let Some(forest) = l
            .gradient_booster
            .model
            .filter(|_| l.gradient_booster.name == "gbtree")
        else {
            return Err(BoosterError::Unsupported(format!(
                "booster '{}' (gbtree is expected)",
                l.gradient_booster.name
            )));
        };
        let number = |name: &str, text: &str| -> Result<f64, BoosterError> {
            // XGBoost 3 writes a per-class intercept as a one-element list, "[5E-1]".
            text.trim_matches(|c| c == '[' || c == ']')
                .parse()
                .map_err(|_| BoosterError::Format(format!("{name} '{text}' is not a number")))
        };
        let p = &l.learner_model_param;
        let classes = number("num_class", &p.num_class)? as usize;
        let features = number("num_feature", &p.num_feature)? as usize;
        if classes < 2 {
            return Err(BoosterError::Unsupported(format!("{classes} classes")));
        }
        if features == 0 || features > FEATURE_MASK as usize + 1 {
            return Err(BoosterError::Unsupported(format!("{features} features")));
        }
        if forest.tree_info.len() != forest.trees.len()
            || forest.tree_info.iter().any(|&c| c >= classes)
        {
            return Err(BoosterError::Format(
                "tree_info does not match the trees".into(),
            ));
        }
        let mut nodes = Vec::new();
        let mut trees = Vec::with_capacity(forest.trees.len());
        for (tree, class) in forest.trees.iter().zip(forest.tree_info) {
            tree.check(features)?;
            trees.push((nodes.len(), class));
            tree.append_to(&mut nodes)?;
        }
        if nodes.len() > u32::MAX as usize - MAX_CHILD_OFFSET as usize {
            return Err(BoosterError::Unsupported(format!("{} nodes", nodes.len())));
        }
        Ok(Booster {
            classes,
            features,
            base_margin: number("base_score", &p.base_score)? as f32,
            nodes,
            trees,
        })
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The number of features a row must have.
    pub fn features(&self) -> usize {
        self.features
    }

    /// The class probabilities of one row of features (NaN where missing), as XGBoost's
    /// `predict` gives them: leaf values summed per class in f32 from the base margin, then a
    /// softmax.
    pub fn predict(&self, row: &[f32]) -> Result<Vec<f32>, BoosterError> {
        if row.len() != self.features {
            return Err(BoosterError::Features {
                expected: self.features,
                got: row.len(),
            });
        }
        Ok(self.predict_rows(row))
    }

    /// The class probabilities of many rows at once: `rows` holds them one after another,
    /// [`features`](Self::features) values each, and the answer [`classes`](Self::classes)
    /// probabilities per row, each as [`predict`](Self::predict) gives them. Much faster than
    /// a row at a time for a large model.
    ///
    /// # Panics
    /// If `rows` is not a whole number of rows.
    pub fn predict_rows(&self, rows: &[f32]) -> Vec<f32> {
        let count = rows.len() / self.features;
        self.predict_groups(rows, &vec![1; count])
    }

    /// As [`predict_rows`](Self::predict_rows), with the rows in consecutive groups of
    /// `groups[i]` rows that take the same path through most trees, such as one CCDC
    /// segment's rows at its prediction dates, which differ only in the features that depend
    /// on the date. A group's rows walk each tree together and part only where they split
    /// apart, so such rows cost little more than one. The answer does not depend on the
    /// grouping.
    ///
    /// # Panics
    /// If `rows` is not a whole number of rows, the groups do not add up to them, or they hold
    /// more than `u32::MAX` values (16 GiB).
    pub fn predict_groups(&self, rows: &[f32], groups: &[usize]) -> Vec<f32> {
        let (f, c) = (self.features, self.classes);
        assert_eq!(rows.len() % f, 0, "rows of {f} features");
        assert!(u32::try_from(rows.len()).is_ok(), "at most 2^32 values");
        assert_eq!(
            groups.iter().sum::<usize>(),
            rows.len() / f,
            "groups of the rows"
        );
        let mut out = vec![self.base_margin; rows.len() / f * c];
        let mut descent = TreeDescent::default();
        let (mut first, mut rest) = (0, groups);
        while !rest.is_empty() {
            // A block of whole groups, of about BLOCK rows (one group at least).
            let mut taken = 1;
            let mut size = rest[0];
            while taken < rest.len() && size + rest[taken] <= BLOCK {
                size += rest[taken];
                taken += 1;
            }
            let (block, after) = rest.split_at(taken);
            descent.block((rows, f), block, first);
            // Each row's leaf values are added in the trees' order, as XGBoost adds them.
            for &(root, class) in &self.trees {
                let tree = (self.nodes.as_slice(), root as u32);
                descent.run(tree, (rows, f), |r, value| out[r * c + class] += value);
            }
            first += size;
            rest = after;
        }
        for margins in out.chunks_exact_mut(c) {
            let max = margins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0f32;
            for m in margins.iter_mut() {
                *m = (*m - max).exp();
                sum += *m;
            }
            for m in margins.iter_mut() {
                *m /= sum;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_model_is_a_clear_error() {
        for text in ["", "{}", "[1, 2]", r#"{"learner": {"objective": 3}}"#] {
            let err = Booster::from_json(text).unwrap_err();
            assert!(matches!(err, BoosterError::Format(_)), "{text}: {err}");
        }
    }

    /// The error of a two-class model of one feature whose only tree is `tree`.
    fn one_tree_error(tree: serde_json::Value) -> BoosterError {
        let model = serde_json::json!({"learner": {
            "learner_model_param": {"base_score": "0.5", "num_class": "2", "num_feature": "1"},
            "objective": {"name": "multi:softprob"},
            "gradient_booster": {"name": "gbtree", "model": {"tree_info": [0], "trees": [tree]}}}});
        Booster::from_json(&model.to_string()).unwrap_err()
    }

    #[test]
    fn a_node_pointing_backwards_is_refused() {
        let err = one_tree_error(serde_json::json!({
            "left_children": [0, -1], "right_children": [1, -1], "split_indices": [0, 0],
            "split_conditions": [0.5, 1.0], "default_left": [0, 0]}));
        assert_eq!(err, BoosterError::Format("tree node 0 is malformed".into()));
    }

    #[test]
    fn a_node_with_two_parents_is_refused() {
        let err = one_tree_error(serde_json::json!({
            "left_children": [1, 2, -1], "right_children": [2, 2, -1],
            "split_indices": [0, 0, 0], "split_conditions": [0.5, 0.2, 1.0],
            "default_left": [0, 0, 0]}));
        assert_eq!(
            err,
            BoosterError::Format("tree node 2 has two parents".into())
        );
    }

    /// A block of rows predicted tree by tree gives, row by row, what a walk of XGBoost's own
    /// arrays gives: over several blocks, with missing values and both default directions, and
    /// the same again with the rows walked in groups.
    #[test]
    fn rows_predicted_together_equal_walks_of_the_saved_trees() {
        let (features, classes) = (3, 3);
        // Trees of depth 2 over varied features, thresholds and default directions.
        let trees: Vec<serde_json::Value> = (0..12)
            .map(|t: i32| {
                let c = |k: i32| ((t * 7 + k * 3) % 11) as f32 / 10.0 - 0.5;
                if t % 3 == 2 {
                    // Uneven: a leaf at depth 1 (node 4), nodes numbered depth first, and
                    // nodes 5 and 6 pruned (no walk reaches them).
                    return serde_json::json!({
                        "left_children": [1, 2, -1, -1, -1, -1, -1],
                        "right_children": [4, 3, -1, -1, -1, -1, -1],
                        "split_indices": [t % 3, (t + 1) % 3, 0, 0, 0, 0, 0],
                        "split_conditions": [c(0), c(1), c(2), c(3), c(4), c(5), c(6)],
                        "default_left": [t % 2, 1, 0, 0, 0, 0, 0]
                    });
                }
                serde_json::json!({
                    "left_children": [1, 3, 5, -1, -1, -1, -1],
                    "right_children": [2, 4, 6, -1, -1, -1, -1],
                    "split_indices": [t % 3, (t + 1) % 3, (t + 2) % 3, 0, 0, 0, 0],
                    "split_conditions": [c(0), c(1), c(2), c(3), c(4), c(5), c(6)],
                    "default_left": [t % 2, (t + 1) % 2, 1, 0, 0, 0, 0]
                })
            })
            .collect();
        let model = serde_json::json!({"learner": {
            "learner_model_param": {"base_score": "0.5", "num_class": "3", "num_feature": "3"},
            "objective": {"name": "multi:softprob"},
            "gradient_booster": {"name": "gbtree", "model": {
                "tree_info": (0..12).map(|t| t % 3).collect::<Vec<_>>(), "trees": trees}}}});
        let booster = Booster::from_json(&model.to_string()).unwrap();
        let saved: Vec<Tree> = trees
            .iter()
            .map(|t| serde_json::from_value(t.clone()).unwrap())
            .collect();
        let rows: Vec<f32> = (0..150 * features)
            .map(|i| match i % 17 {
                5 => f32::NAN,
                k => (k as f32 * 0.37).sin(),
            })
            .collect();
        let together = booster.predict_rows(&rows);
        // Groups of every size, empty ones and some larger than a block, over rows that part at
        // most splits.
        let groups: Vec<usize> = (1..=12).chain([0, 70, 1, 0, 1]).collect();
        assert_eq!(booster.predict_groups(&rows, &groups), together);
        // Groups of ten rows that differ only in their last feature, as a segment's rows at
        // its dates do: they share their paths but where that feature splits them.
        let alike: Vec<f32> = (0..150)
            .flat_map(|r: i32| {
                let shared = |k: i32| ((r / 10 * 5 + k) as f32 * 0.61).sin();
                [shared(0), shared(1), (r as f32 * 0.37).sin()]
            })
            .collect();
        assert_eq!(
            booster.predict_groups(&alike, &[10; 15]),
            booster.predict_rows(&alike)
        );
        let walk = |row: &[f32]| {
            let mut margins = vec![0.5f32; classes];
            for (t, tree) in saved.iter().enumerate() {
                let mut i = 0;
                while tree.left_children[i] != -1 {
                    let v = row[tree.split_indices[i] as usize];
                    let left = if v.is_nan() {
                        tree.default_left[i] != 0
                    } else {
                        v < tree.split_conditions[i]
                    };
                    i = if left {
                        tree.left_children[i]
                    } else {
                        tree.right_children[i]
                    } as usize;
                }
                margins[t % 3] += tree.split_conditions[i];
            }
            let max = margins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = margins.iter().map(|m| (m - max).exp()).collect();
            let sum: f32 = e.iter().sum();
            e.iter().map(|v| v / sum).collect::<Vec<f32>>()
        };
        for (row, p) in rows.chunks(features).zip(together.chunks(classes)) {
            let expected = walk(row);
            assert_eq!(p, expected.as_slice());
            assert_eq!(booster.predict(row).unwrap(), expected);
        }
        // Values on the thresholds themselves (which go right), in groups whose lowest or
        // highest values are often a threshold.
        let on: Vec<f32> = (0..60 * features)
            .map(|i| ((i * 7 % 11) as f32) / 10.0 - 0.5)
            .collect();
        let expected: Vec<f32> = on.chunks(features).flat_map(walk).collect();
        assert_eq!(booster.predict_groups(&on, &[3; 20]), expected);
        assert_eq!(
            booster.predict(&[0.0; 2]).unwrap_err(),
            BoosterError::Features {
                expected: 3,
                got: 2
            }
        );
    }
}
