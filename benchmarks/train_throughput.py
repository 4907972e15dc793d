"""Training throughput: examples/s and CPU-s per epoch of jointrec's fast path (tutorial and
default presets) against the tutorial's own Keras ``fit`` pipeline, and as a fraction of the
machine's arithmetic limit (measured matmul FLOP/s), all measured in one process.

Run: ``python benchmarks/train_throughput.py [--quick]`` (writes results/train_throughput.json).
"""

from __future__ import annotations

from typing import Any

from common import EpochClock, data_path, flops_per_example, header, quick_main, steady


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


def jointrec_epochs(path: str, preset_name: str, epochs: int) -> dict[str, Any]:
    """jointrec's own pipeline (`train_model`, the JAX fast path) on the same 80% split.

    A one-epoch run first compiles (its epoch is the "first epoch"); the timed run then
    trains ``epochs`` epochs on the cached compiled runner, as `compare`'s later models do.
    """
    import time

    from jointrec import preset
    from jointrec.pipeline import prepare_data, train_model
    from jointrec.run import load_dataset

    cfg = preset(preset_name)
    data = prepare_data(load_dataset("100k", path, progress=False), cfg.split)
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
        "model": cfg.model.negatives + " softmax",
    }


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
    from machine import matmul_flops

    path = data_path(quick)
    epochs = 2 if quick else 8  # medians of 7 steady epochs: less noise on a shared machine
    flops = matmul_flops(512 if quick else 1024, 5 if quick else 20)
    per_example = flops_per_example(32, (256, 128), 1000)
    reference = reference_epochs(path, epochs)
    n = reference["examples_per_epoch"]
    result: dict[str, Any] = {
        **header("train_throughput", quick),
        "matmul_flops_per_second": flops,
        "flops_per_example": per_example,
        "arithmetic_limit_epoch_seconds": n * per_example / flops,
        "reference": summarise(reference, n * per_example, flops),
    }
    for name in ("tutorial", "default"):
        run_ = jointrec_epochs(path, name, epochs)
        # The tutorial preset is the reference's architecture, so the same FLOPs; the default
        # preset (features, user history, full softmax) is another model: no limit share.
        work = run_["examples_per_epoch"] * per_example if name == "tutorial" else None
        summary = summarise(run_, work, flops)
        summary["speedup_vs_reference"] = (
            summary["examples_per_second"] / result["reference"]["examples_per_second"]
        )
        result[f"jointrec_{name}"] = summary
    return result


def main() -> None:
    quick_main("train_throughput", run, __doc__.splitlines()[0], "tiny smoke run")


if __name__ == "__main__":
    main()
