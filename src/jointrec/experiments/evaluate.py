"""`evaluate_artifact`: re-computes a run's test report from its saved model, its data and its
split settings (``jointrec evaluate RUN``).

The split is re-derived from the saved settings (it is seeded and deterministic) and checked
against the saved sizes, so the report is on the same test set as at training.

Example:
    >>> evaluate_artifact("runs/joint")["recall@10"]  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from jointrec.artifact.directory import load_artifact
from jointrec.data.encoded import encode
from jointrec.data.splits import split_rows
from jointrec.errors import JointrecError
from jointrec.evaluation.evaluate import evaluate
from jointrec.experiments.pipeline import DataArg, as_experiment, load
from jointrec.progress import stage
from jointrec.settings import DataConfig, Experiment


def evaluate_artifact(
    path: str | os.PathLike[str], data: DataArg = None, *, progress: bool = False
) -> dict[str, float]:
    """The test report of the run directory ``path``.

    Args:
        path: A run directory written by `jointrec.train` (``jointrec train``).
        data: Where the data is now, if it moved (a MovieLens zip or folder, a
            `jointrec.settings.DataConfig`, or a `jointrec.data.Dataset`); by default the
            data the run recorded.
        progress: Show each stage (reading, splitting, evaluating) while it runs.
    """
    art = load_artifact(path)
    info = art.data_info
    experiment = Experiment(name=Path(path).name, run=art.config, data=_recorded_data(info))
    experiment, dataset = as_experiment(experiment, data)
    loaded = load(experiment, dataset, progress=progress)
    x = loaded.dataset.interactions
    with stage("splitting and encoding", progress):
        train_rows, _, test_rows = split_rows(x, art.config.split)
        if "train" in info and len(train_rows) != info["train"]:
            raise JointrecError(
                f"the data gives a train split of {len(train_rows)} rows but the "
                f"artifact was trained on {info['train']}: pass the same data with --data"
            )
        train = encode(x.take(train_rows), art.users, art.items)
        test = encode(x.take(test_rows), art.users, art.items)
    with stage("evaluating on test", progress):
        return evaluate(art.exported, train, test, art.config.eval)


def _recorded_data(info: dict[str, object]) -> DataConfig:
    """The data settings a run recorded (runs of jointrec 0.1 recorded only the MovieLens
    release and its path, unless they read your own files)."""
    source = info.get("source")
    if isinstance(source, dict):
        return DataConfig.from_dict(dict(source))
    dataset = str(info.get("dataset", "movielens-100k")).removeprefix("movielens-")
    path = info.get("path")
    return DataConfig(dataset=dataset, path=None if path is None else str(path))
