//! A job's stage graph as SVG: one box per stage, coloured by its state, and an arrow per
//! shuffle from the stage that writes it to the stage that reads it. Stages stand in columns by
//! depth (the scans on the left, the final stage on the right). Laid out here rather than
//! through graphviz, which the images do not carry and a browser cannot run.

use std::collections::HashMap;

use maud::{html, Markup};

use super::model::StageView;

const BOX_W: usize = 170;
const BOX_H: usize = 58;
const GAP_X: usize = 70;
const GAP_Y: usize = 24;
const MARGIN: usize = 10;

/// Each stage's column: 0 for stages that read no other stage, else one more than the deepest
/// stage it reads.
fn columns(stages: &[StageView]) -> HashMap<usize, usize> {
    let inputs: HashMap<usize, Vec<usize>> =
        stages.iter().map(|s| (s.id, s.reads.clone())).collect();
    fn depth(
        id: usize,
        inputs: &HashMap<usize, Vec<usize>>,
        memo: &mut HashMap<usize, usize>,
        visiting: &mut Vec<usize>,
    ) -> usize {
        if let Some(d) = memo.get(&id) {
            return *d;
        }
        if visiting.contains(&id) {
            return 0; // a cycle cannot happen in a job's stages; do not loop if it does
        }
        visiting.push(id);
        let d = inputs
            .get(&id)
            .map(|ins| {
                ins.iter()
                    .map(|i| depth(*i, inputs, memo, visiting) + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        visiting.pop();
        memo.insert(id, d);
        d
    }
    let mut memo = HashMap::new();
    for s in stages {
        depth(s.id, &inputs, &mut memo, &mut Vec::new());
    }
    memo
}

/// The graph of `stages`, each box linking to the stage's section of the page (`#stage-N`).
pub fn stage_graph(stages: &[StageView]) -> Markup {
    let columns = columns(stages);
    let mut rows_in: HashMap<usize, usize> = HashMap::new();
    let mut at: HashMap<usize, (usize, usize)> = HashMap::new();
    for s in stages {
        let column = columns.get(&s.id).copied().unwrap_or(0);
        let row = rows_in.entry(column).or_insert(0);
        at.insert(
            s.id,
            (
                MARGIN + column * (BOX_W + GAP_X),
                MARGIN + *row * (BOX_H + GAP_Y),
            ),
        );
        *row += 1;
    }
    let width =
        MARGIN * 2 + (columns.values().max().copied().unwrap_or(0) + 1) * (BOX_W + GAP_X) - GAP_X;
    let height =
        MARGIN * 2 + rows_in.values().max().copied().unwrap_or(1) * (BOX_H + GAP_Y) - GAP_Y;
    html! {
        svg class="stage-graph" xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            viewBox={"0 0 " (width) " " (height)} role="img" aria-label="stage graph" {
            defs {
                marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7"
                    orient="auto-start-reverse" { path d="M 0 0 L 10 5 L 0 10 z" {} }
            }
            @for s in stages {
                @for from in &s.reads {
                    @if let (Some((x1, y1)), Some((x2, y2))) = (at.get(from), at.get(&s.id)) {
                        line class="shuffle" x1=(x1 + BOX_W) y1=(y1 + BOX_H / 2) x2=(x2) y2=(y2 + BOX_H / 2)
                            marker-end="url(#arrow)" {}
                    }
                }
            }
            @for s in stages {
                @if let Some((x, y)) = at.get(&s.id) {
                    a href={"#stage-" (s.id)} {
                        g class={"stage state-" (s.state.to_lowercase())} data-stage=(s.id) {
                            rect x=(x) y=(y) width=(BOX_W) height=(BOX_H) rx="6" {}
                            text x=(x + 10) y=(y + 22) class="title" { "Stage " (s.id) }
                            text x=(x + 10) y=(y + 44) {
                                (s.state) " · " (s.partitions_done) "/" (s.partitions) " partitions"
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(id: usize, reads: &[usize]) -> StageView {
        StageView {
            id,
            state: "Successful".into(),
            reads: reads.to_vec(),
            partitions: 2,
            partitions_done: 2,
            tasks: Vec::new(),
            plan: String::new(),
            error: None,
        }
    }

    #[test]
    fn stages_stand_in_columns_by_depth_with_one_box_each() {
        // Two scans (1, 2) feed a join (3), which feeds the final stage (4).
        let stages = [
            stage(1, &[]),
            stage(2, &[]),
            stage(3, &[1, 2]),
            stage(4, &[3]),
        ];
        let c = columns(&stages);
        assert_eq!((c[&1], c[&2], c[&3], c[&4]), (0, 0, 1, 2));
        let svg = stage_graph(&stages).into_string();
        assert_eq!(svg.matches("<rect").count(), 4);
        assert_eq!(svg.matches("class=\"shuffle\"").count(), 3);
        assert!(svg.contains("href=\"#stage-3\""));
    }
}
