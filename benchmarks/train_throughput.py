"""Training throughput: examples/s and CPU-s per epoch of jointrec's fast path (tutorial and
default presets) against the tutorial's own Keras ``fit`` pipeline, and as a fraction of the
machine's arithmetic limit (measured matmul FLOP/s), all measured in one process.

Run: ``python benchmarks/train_throughput.py [--quick]`` (writes results/train_throughput.json).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from common import EpochClock, data_path, flops_per_example, steady, write_result


def reference_epochs(path: str, epochs: int, limit: int | None) -> dict[str, Any]:
    """The tutorial's multi-task model trained with Keras ``fit`` (see reference_tutorial)."""
    import keras
    from reference_tutorial import ReferenceData, make_model, pipeline_kind

    data = ReferenceData.load(path, limit=limit)
    model = make_model(data, 1.0, 1.0)
    clock = EpochClock()

    class Laps(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            clock.start()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            clock.lap()

    model.fit(data.train_pipeline(), epochs=epochs, verbose=0, callbacks=[Laps()])
    return {
        "pipeline": pipeline_kind(),
        "examples_per_epoch": data.train_size,
        "epoch_seconds": clock.wall,
        "epoch_cpu_seconds": clock.cpu,
    }


def jointrec_epochs(path: str, preset_name: str, epochs: int, limit: int | None) -> dict[str, Any]:
    """jointrec's `fit` (JAX fast path) on the same 80% training split."""
    import numpy as np

    from jointrec import preset
    from jointrec.model import build_model
    from jointrec.pipeline import prepare_data
    from jointrec.run import load_dataset
    from jointrec.training import TrainingArrays, fit
    from jointrec.training.batches import item_log_frequencies

    cfg = preset(preset_name)
    dataset = load_dataset("100k", path, progress=False)
    if limit is not None:
        dataset = dataclasses.replace(
            dataset, interactions=dataset.interactions.take(np.arange(limit))
        )
    data = prepare_data(dataset, cfg.split)
    labels = data.train.labels()
    model = build_model(
        cfg.model,
        len(data.users),
        len(data.items),
        rating_scale=data.rating_scale,
        global_mean=float(labels.mean()),
        seed=cfg.train.seed,
    )
    log_q = None
    if cfg.model.logq_correction:
        log_q = item_log_frequencies(data.train.item, len(data.items))[data.train.item]
    arrays = TrainingArrays(data.train.user, data.train.item, labels, log_q)
    clock = EpochClock()
    fit(
        model,
        arrays,
        dataclasses.replace(cfg.train, epochs=epochs),
        progress=False,
        on_epoch_end=lambda epoch, logs: clock.lap(),
    )
    return {
        "examples_per_epoch": len(arrays),
        "epoch_seconds": clock.wall,
        "epoch_cpu_seconds": clock.cpu,
        "embedding_updates": cfg.train.embedding_updates,
    }


def summarise(run: dict[str, Any], flops_per_epoch: float, flops: float) -> dict[str, Any]:
    epoch = steady(run["epoch_seconds"])
    return {
        **run,
        "first_epoch_seconds": run["epoch_seconds"][0],
        "steady_epoch_seconds": epoch,
        "steady_epoch_cpu_seconds": steady(run["epoch_cpu_seconds"]),
        "examples_per_second": run["examples_per_epoch"] / epoch,
        "fraction_of_arithmetic_limit": flops_per_epoch / flops / epoch,
    }


def run(quick: bool = False) -> dict[str, Any]:
    from machine import machine_info, matmul_flops

    path = data_path(quick)
    epochs = 2 if quick else 5
    limit = None
    flops = matmul_flops(512 if quick else 1024, 5 if quick else 20)
    per_example = flops_per_example(32, (256, 128), 1000)
    reference = reference_epochs(path, epochs, limit)
    n = reference["examples_per_epoch"]
    result: dict[str, Any] = {
        "benchmark": "train_throughput",
        "quick": quick,
        "machine": machine_info(),
        "matmul_flops_per_second": flops,
        "flops_per_example": per_example,
        "arithmetic_limit_epoch_seconds": n * per_example / flops,
        "reference": summarise(reference, n * per_example, flops),
    }
    for name in ("tutorial", "default"):
        run_ = jointrec_epochs(path, name, epochs, limit)
        summary = summarise(run_, run_["examples_per_epoch"] * per_example, flops)
        summary["speedup_vs_reference"] = (
            summary["examples_per_second"] / result["reference"]["examples_per_second"]
        )
        result[f"jointrec_{name}"] = summary
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = parser.parse_args()
    path = write_result("train_throughput" + ("_quick" if args.quick else ""), run(args.quick))
    print(path.read_text())


if __name__ == "__main__":
    main()
