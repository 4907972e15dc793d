"""Training throughput: examples/s and CPU-s per epoch of jointrec's fast path (tutorial and
default presets) against the tutorial's own Keras ``fit`` pipeline, and as a fraction of the
machine's arithmetic limit (measured matmul FLOP/s), all measured in one process.

Run: ``python benchmarks/train_throughput.py [--quick]`` (writes results/train_throughput.json).
"""

from __future__ import annotations

from typing import Any

from common import (
    EpochClock,
    data_path,
    distinct_flops_per_example,
    flops_per_example,
    header,
    quick_main,
    steady,
)


def reference_epochs(path: str, epochs: int) -> dict[str, Any]:
    """The tutorial's multi-task model trained with Keras ``fit`` (see reference_tutorial)."""
    import keras
    from reference_tutorial import ReferenceData, make_model, pipeline_kind

    data = ReferenceData.load(path)
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


def jointrec_epochs(
    path: str, preset_name: str, epochs: int, distinct_ids: bool = True
) -> dict[str, Any]:
    """jointrec's own pipeline (`train_model`, the JAX fast path) on the same 80% split.

    A one-epoch run first compiles (its epoch is the "first epoch"); the timed run then
    trains ``epochs`` epochs on the cached compiled runner, as `compare`'s later models do.
    ``distinct_ids=False`` turns off the distinct-id step (`TrainConfig.distinct_ids`).
    """
    import time

    from jointrec import preset
    from jointrec.data.movielens import load_movielens
    from jointrec.experiments.pipeline import prepare_data, train_model

    cfg = preset(preset_name).replace(train={"distinct_ids": distinct_ids})
    data = prepare_data(load_movielens("100k", path=path, progress=False), cfg.split)
    first = train_model(data, cfg.replace(train={"epochs": 1}), progress=False, evaluate_on=None)
    cpu = time.process_time()
    timed = train_model(
        data, cfg.replace(train={"epochs": epochs}), progress=False, evaluate_on=None
    )
    cpu = time.process_time() - cpu
    seconds = [e["seconds"] for e in timed.history.epochs]
    return {
        "examples_per_epoch": len(data.train),
        "epoch_seconds": [first.history.epochs[0]["seconds"], *seconds],
        "epoch_cpu_seconds": [None, *([cpu / epochs] * epochs)],
        "embedding_updates": cfg.train.embedding_updates,
        "model": cfg.model.retrieval.negatives + " softmax",
        "distinct_ids": distinct_ids,
        "distinct_id_slots": distinct_slots(data, cfg) if distinct_ids else None,
    }


def distinct_slots(data: Any, cfg: Any) -> dict[str, int] | None:
    """Padded distinct users and items per batch of the first epoch (in-batch models)."""
    import numpy as np

    from jointrec.model.build import resolve_negatives
    from jointrec.training.batch_unique import with_unique_ids
    from jointrec.training.batches import TrainingArrays, epoch_batches
    from jointrec.training.loop import epoch_order

    model = resolve_negatives(cfg.model, len(data.users), len(data.items))
    if model.retrieval.negatives != "in_batch":
        return None
    arrays = TrainingArrays(data.train.user, data.train.item, data.train.labels())
    order = epoch_order(len(arrays), 0, cfg.train, np.random.default_rng(cfg.train.seed))
    out = with_unique_ids(epoch_batches(arrays, order, cfg.train.batch_size))
    return {"users": out["user_unique"].shape[1], "items": out["item_unique"].shape[1]}


def summarise(run: dict[str, Any], flops_per_epoch: float | None, flops: float) -> dict[str, Any]:
    """Steady-state figures; the arithmetic-limit share needs the run's FLOPs per epoch."""
    epoch = steady(run["epoch_seconds"])
    return {
        **run,
        "first_epoch_seconds": run["epoch_seconds"][0],
        "steady_epoch_seconds": epoch,
        "steady_epoch_cpu_seconds": steady(run["epoch_cpu_seconds"]),
        "examples_per_second": run["examples_per_epoch"] / epoch,
        "fraction_of_arithmetic_limit": None
        if flops_per_epoch is None
        else flops_per_epoch / flops / epoch,
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Rounds of (reference, tutorial preset, tutorial preset per row), then the default
    preset once; speed-ups are medians of per-round ratios (the VM's speed drifts)."""
    import statistics

    from machine import matmul_flops

    path = data_path(quick)
    epochs = 2 if quick else 8  # medians of 7 steady epochs: less noise on a shared machine
    rounds = 1 if quick else 5
    flops = matmul_flops(512 if quick else 1024, 5 if quick else 20)
    per_example = flops_per_example(32, (256, 128), 1000)
    runs: dict[str, list[dict[str, Any]]] = {"reference": [], "tutorial": [], "per_row": []}
    for _ in range(rounds):
        runs["reference"].append(reference_epochs(path, epochs))
        runs["tutorial"].append(jointrec_epochs(path, "tutorial", epochs))
        runs["per_row"].append(jointrec_epochs(path, "tutorial", epochs, distinct_ids=False))
    n = runs["reference"][0]["examples_per_epoch"]
    work = n * per_example  # the tutorial's model, whichever way it is computed

    def combined(name: str) -> dict[str, Any]:
        summaries = [summarise(r, work, flops) for r in runs[name]]
        best = dict(summaries[0])
        for key in ("steady_epoch_seconds", "steady_epoch_cpu_seconds"):
            best[key] = statistics.median(s[key] for s in summaries)
        best["examples_per_second"] = n / best["steady_epoch_seconds"]
        best["fraction_of_arithmetic_limit"] = work / flops / best["steady_epoch_seconds"]
        best["rounds"] = summaries
        if name != "reference":
            best["speedup_vs_reference"] = statistics.median(
                ref["steady_epoch_seconds"] / s["steady_epoch_seconds"]
                for ref, s in zip(combined_ref, summaries, strict=True)
            )
        return best

    combined_ref = [summarise(r, work, flops) for r in runs["reference"]]
    result: dict[str, Any] = {
        **header("train_throughput", quick),
        "matmul_flops_per_second": flops,
        "flops_per_example": per_example,
        "arithmetic_limit_epoch_seconds": n * per_example / flops,
        "rounds": rounds,
        "reference": combined("reference"),
        "jointrec_tutorial": combined("tutorial"),
        "jointrec_tutorial_per_row": combined("per_row"),
    }
    slots = result["jointrec_tutorial"]["distinct_id_slots"]
    if slots:  # what the distinct-id step executes, against the same measured peak
        executed = distinct_flops_per_example(32, (256, 128), 1000, slots["users"], slots["items"])
        tutorial = result["jointrec_tutorial"]
        tutorial["executed_flops_per_example"] = executed
        tutorial["executed_fraction_of_arithmetic_limit"] = (
            n * executed / flops / tutorial["steady_epoch_seconds"]
        )
    # The default preset (features, user history, full softmax) is another model: no share.
    default = summarise(jointrec_epochs(path, "default", epochs), None, flops)
    default["speedup_vs_reference"] = (
        default["examples_per_second"] / result["reference"]["examples_per_second"]
    )
    result["jointrec_default"] = default
    return result


def main() -> None:
    quick_main("train_throughput", run, __doc__.splitlines()[0], "tiny smoke run")


if __name__ == "__main__":
    main()
