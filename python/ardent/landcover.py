"""Training LCMAP's land-cover classifier: XGBoost on ardent's training rows.

``ardent training`` writes a Parquet table of ``label`` (LCMAP's class, 1-8) and ``features``
(``lc_features`` of each labelled pixel's segment at the training date). ``train`` fits the
model LCMAP's lcmap-blackmagic fitted (``multi:softprob`` over 9 classes, depth 8, hist trees,
up to 500 rounds stopping after 10 without gain on a 20% evaluation split) and saves it as JSON,
which ardent's ``lc_predict`` and ``landcover`` SQL functions and ``ardent products --model``
read for inference, without Python.

Command line::

    python -m ardent.landcover train TRAINING.parquet MODEL.json [--rounds 500] [--seed 0]
    python -m ardent.landcover predict MODEL.json TRAINING.parquet OUT.csv

(``predict`` writes XGBoost's own probabilities for the rows as CSV, ``row,col,p0..p8``, to
compare with ardent's.)
"""

import argparse
import sys

import numpy as np
import pyarrow.parquet as pq

#: LCMAP's classes, by value (0 is "none").
CLASSES = ["none", "developed", "cropland", "grass/shrub", "tree cover", "water", "wetland",
           "ice/snow", "barren"]


def read_training(path):
    """The features (float32, one row per labelled pixel) and labels of a training table."""
    table = pq.read_table(path, columns=["label", "features"])
    if table.num_rows == 0:
        raise ValueError(f"{path}: no training rows (no labelled pixel has a segment at the date)")
    features = table.column("features").combine_chunks()
    width = len(features[0])
    flat = features.flatten().to_numpy(zero_copy_only=False)
    if flat.size != width * table.num_rows:
        raise ValueError(f"{path}: feature rows differ in length")
    labels = table.column("label").to_numpy().astype(np.int32)
    return flat.reshape(table.num_rows, width).astype(np.float32), labels


def train(training, model_path, rounds=500, seed=0, depth=8):
    """Fits the classifier on a training table and saves it to ``model_path`` (JSON).

    Returns the evaluation split's accuracy."""
    import xgboost as xgb

    x, y = read_training(training)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    cut = max(1, int(0.8 * len(y))) if len(y) > 1 else len(y)
    fit, held = order[:cut], order[cut:]
    dfit = xgb.DMatrix(x[fit], label=y[fit])
    evals = [(dfit, "train")]
    dheld = None
    if len(held):
        dheld = xgb.DMatrix(x[held], label=y[held])
        evals.append((dheld, "eval"))
    params = {"objective": "multi:softprob", "num_class": len(CLASSES), "max_depth": depth,
              "tree_method": "hist", "eval_metric": "mlogloss", "seed": seed, "nthread": 0}
    booster = xgb.train(params, dfit, num_boost_round=rounds, evals=evals,
                        early_stopping_rounds=10 if dheld is not None else None, verbose_eval=False)
    # Keep the trees up to the best round only, so the saved model is the one evaluated.
    if dheld is not None and booster.best_iteration + 1 < booster.num_boosted_rounds():
        booster = booster[: booster.best_iteration + 1]
    booster.save_model(model_path)
    if dheld is None:
        return float("nan")
    predicted = booster.predict(dheld).argmax(axis=1)
    return float((predicted == y[held]).mean())


def predict(model_path, training):
    """XGBoost's own class probabilities for the rows of a training table."""
    import xgboost as xgb

    x, _ = read_training(training)
    booster = xgb.Booster(model_file=model_path)
    return booster.predict(xgb.DMatrix(x))


def write_predictions(model_path, training, out):
    """``predict``'s probabilities as CSV beside each row's ``row`` and ``col``."""
    probabilities = predict(model_path, training)
    where = pq.read_table(training, columns=["row", "col"])
    with open(out, "w") as f:
        f.write(",".join(["row", "col"] + [f"p{c}" for c in range(probabilities.shape[1])]) + "\n")
        for r, c, p in zip(where.column("row").to_pylist(), where.column("col").to_pylist(), probabilities):
            # repr: every float32 digit, so the comparison sees XGBoost's exact values.
            f.write(",".join([str(r), str(c)] + [repr(float(v)) for v in p]) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ardent.landcover", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="fit the classifier and save it as JSON")
    t.add_argument("training")
    t.add_argument("model")
    t.add_argument("--rounds", type=int, default=500)
    t.add_argument("--depth", type=int, default=8)
    t.add_argument("--seed", type=int, default=0)
    p = commands.add_parser("predict", help="XGBoost's probabilities for a training table's rows")
    p.add_argument("model")
    p.add_argument("training")
    p.add_argument("out")
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            accuracy = train(args.training, args.model, args.rounds, args.seed, args.depth)
            print(f"wrote {args.model} (accuracy on the 20% evaluation split: {accuracy:.3f})")
        else:
            write_predictions(args.model, args.training, args.out)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
