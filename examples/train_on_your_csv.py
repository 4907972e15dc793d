"""Train jointrec on your own interaction log: a CSV of who did what, nothing else.

This is the path a new user takes with their own data. Run it on any CSV with a user column,
an item column and, optionally, a rating column::

    python examples/train_on_your_csv.py events.csv --user-col user --item-col item \\
        --rating-col stars --out runs/example

It (1) reads the file, (2) writes an experiment file, (3) trains and evaluates one joint model
with it, (4) recommends for one user, and (5) repeats the run from its manifest to show that
the manifest reproduces the metrics. Without ``--rating-col`` the model trains retrieval only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=Path, help="CSV or Parquet interaction log")
    parser.add_argument("--user-col", default="user")
    parser.add_argument("--item-col", default="item")
    parser.add_argument("--rating-col", default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/example"))
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)

    from jointrec import Recommender, resolve_experiment, train
    from jointrec.data.tables import read_interactions

    # 1. Read the log. Ids may be integers or strings; a missing column or a value of the
    #    wrong type stops here with a message naming the file, the column and the line.
    x = read_interactions(
        args.events, user_col=args.user_col, item_col=args.item_col, rating_col=args.rating_col
    )
    print(f"{len(x)} interactions, {len(set(x.user))} users, {len(set(x.item))} items")

    # 2. Describe the run in an experiment file: everything `jointrec train` flags can say.
    #    (`jointrec train --config experiment.toml` would run the same thing.)
    args.out.mkdir(parents=True, exist_ok=True)
    experiment_file = args.out / "experiment.toml"
    rating = f'rating_col = "{args.rating_col}"\n' if args.rating_col else ""
    experiment_file.write_text(
        f'name = "example"\nout = "{(args.out / "run").resolve()}"\n\n'
        f'[data]\ninteractions = "{args.events.resolve()}"\n'
        f'user_col = "{args.user_col}"\nitem_col = "{args.item_col}"\n{rating}\n'
        # Small data: small batches and a higher learning rate than the MovieLens defaults.
        f"[train]\nepochs = {args.epochs}\nbatch_size = 64\nlearning_rate = 0.02\n"
    )

    # 3. Train, evaluate on the held-out test split, write the run directory + manifest.
    run = train(experiment_file, overwrite=True, progress=False)
    for note in run.notes:
        print("note:", note)
    report = run.report
    print(f"Recall@10 {report['recall@10']:.3f}  NDCG@10 {report['ndcg@10']:.3f}", end="")
    print(f"  RMSE {report['rmse']:.3f} stars" if "rmse" in report else "  (retrieval only)")

    # 4. Recommend for the first user: retrieve unseen items, rank them by predicted rating.
    rec = Recommender.load(run.artifact)
    user = x.user[0].item() if hasattr(x.user[0], "item") else x.user[0]
    for r in rec.recommend(user, k=5).items:
        stars = "" if r.predicted_rating is None else f"  {r.predicted_rating:.2f} stars"
        print(f"  {user} -> {r.item_id}  score {r.retrieval_score:.3f}{stars}")

    # 5. The manifest is an experiment file with everything resolved: re-running it (to a
    #    new directory) gives the same metrics.
    again = resolve_experiment(run.manifest, {"out": str(args.out / "rerun")})
    repeat = train(again, overwrite=True, progress=False)
    same = all(abs(repeat.report[k] - v) <= 1e-9 for k, v in report.items())
    print(f"manifest {run.manifest} reproduces the metrics: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
