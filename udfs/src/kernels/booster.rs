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
    /// Trees with the class each adds to.
    trees: Vec<(Tree, usize)>,
}

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

    /// The leaf value `row` reaches: NaN (missing) follows the node's default direction, else
    /// values below the threshold go left, as XGBoost's predictor does.
    fn leaf(&self, row: &[f32]) -> f32 {
        let mut node = 0;
        while self.left_children[node] != -1 {
            let value = row[self.split_indices[node] as usize];
            let left = if value.is_nan() {
                self.default_left[node] != 0
            } else {
                value < self.split_conditions[node]
            };
            node = if left {
                self.left_children[node]
            } else {
                self.right_children[node]
            } as usize;
        }
        self.split_conditions[node]
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
        if forest.tree_info.len() != forest.trees.len()
            || forest.tree_info.iter().any(|&c| c >= classes)
        {
            return Err(BoosterError::Format(
                "tree_info does not match the trees".into(),
            ));
        }
        for tree in &forest.trees {
            tree.check(features)?;
        }
        Ok(Booster {
            classes,
            features,
            base_margin: number("base_score", &p.base_score)? as f32,
            trees: forest.trees.into_iter().zip(forest.tree_info).collect(),
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
        let mut margins = vec![self.base_margin; self.classes];
        for (tree, class) in &self.trees {
            margins[*class] += tree.leaf(row);
        }
        let max = margins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for m in &mut margins {
            *m = (*m - max).exp();
            sum += *m;
        }
        for m in &mut margins {
            *m /= sum;
        }
        Ok(margins)
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

    #[test]
    fn a_node_pointing_backwards_is_refused() {
        let model = serde_json::json!({"learner": {
            "learner_model_param": {"base_score": "0.5", "num_class": "2", "num_feature": "1"},
            "objective": {"name": "multi:softprob"},
            "gradient_booster": {"name": "gbtree", "model": {"tree_info": [0], "trees": [{
                "left_children": [0, -1], "right_children": [1, -1], "split_indices": [0, 0],
                "split_conditions": [0.5, 1.0], "default_left": [0, 0]}]}}}});
        let err = Booster::from_json(&model.to_string()).unwrap_err();
        assert_eq!(err, BoosterError::Format("tree node 0 is malformed".into()));
    }
}
