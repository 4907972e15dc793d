"""Point 1: per-epoch checkpoints, atomic; a resumed run equals an uninterrupted one.

The end-to-end test SIGKILLs a real ``jointrec train`` process mid-run, resumes it with
``jointrec train --resume`` and compares the artifact with an uninterrupted run's, bit for bit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from reliability_helpers import ROOT, run_cli, write_ml100k_zip

from jointrec.errors import JointrecError
from jointrec.testing import checkerboard
from jointrec.training.checkpoint import (
    FORMAT_VERSION,
    CheckpointDir,
    TrainingCheckpoint,
    checkpoint_dir_for,
    rng_state,
)


def no_seconds(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in entry.items() if k != "seconds"} for entry in history]


def assert_same_state(a: TrainingCheckpoint, b: TrainingCheckpoint) -> None:
    assert a.epoch == b.epoch
    assert len(a.model_values) == len(b.model_values)
    for x, y in zip(a.model_values, b.model_values, strict=True):
        np.testing.assert_array_equal(x, y)  # bit-for-bit
    for x, y in zip(a.optimizer_values, b.optimizer_values, strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.rng == b.rng
    assert no_seconds(a.history) == no_seconds(b.history)


@pytest.fixture(scope="module")
def training(small_config):
    """Model factory, data and config shared by the in-process tests (one compilation)."""
    from jointrec.experiments.pipeline import prepare_data
    from jointrec.model.build import build_model
    from jointrec.training import TrainingArrays

    data = prepare_data(checkerboard(12), small_config.split)
    arrays = TrainingArrays(data.train.user, data.train.item, data.train.labels())

    def model():
        return build_model(small_config.model, len(data.users), len(data.items), seed=7)

    return model, arrays, small_config.train


def test_resume_equals_uninterrupted_run(training, tmp_path: Path) -> None:
    from jointrec.training import fit

    make_model, arrays, config = training
    straight = CheckpointDir(tmp_path / "straight.checkpoints", keep=10)
    fit(make_model(), arrays, config, progress=False, checkpoints=straight)
    assert straight.epochs() == [1, 2, 3]

    for crash_after in (1, 2):
        resumed = CheckpointDir(tmp_path / f"resumed{crash_after}.checkpoints", keep=10)
        history = fit(
            make_model(),  # fresh weights: everything must come from the checkpoint
            arrays,
            config,
            progress=False,
            checkpoints=resumed,
            resume=straight.load(crash_after),
        )
        assert [e["epoch"] for e in history.epochs] == [1, 2, 3]
        assert resumed.epochs() == list(range(crash_after + 1, 4))
        assert_same_state(resumed.load(3), straight.load(3))


def test_checkpointing_does_not_change_training(training, tmp_path: Path) -> None:
    from jointrec.training import fit
    from jointrec.training.checkpoint import model_variables

    make_model, arrays, config = training
    plain, saved = make_model(), make_model()
    h1 = fit(plain, arrays, config, progress=False)
    h2 = fit(saved, arrays, config, progress=False, checkpoints=CheckpointDir(tmp_path / "c"))
    assert no_seconds(h1.epochs) == no_seconds(h2.epochs)
    for a, b in zip(model_variables(plain), model_variables(saved), strict=True):
        np.testing.assert_array_equal(np.asarray(a.value), np.asarray(b.value))


def test_early_stop_is_remembered(training, tmp_path: Path) -> None:
    from jointrec.training import fit

    make_model, arrays, config = training
    store = CheckpointDir(tmp_path / "stop.checkpoints")
    stop_after_first = lambda epoch, logs: epoch == 0  # noqa: E731
    fit(
        make_model(),
        arrays,
        config,
        progress=False,
        checkpoints=store,
        on_epoch_end=stop_after_first,
    )
    assert store.epochs() == [1] and store.latest().stopped
    history = fit(make_model(), arrays, config, progress=False, resume=store.latest())
    assert len(history.epochs) == 1  # a stopped run does not train on when resumed


def test_checkpoint_of_another_model_is_refused(training, tmp_path: Path, small_config) -> None:
    from jointrec.model.build import build_model
    from jointrec.training import fit

    make_model, arrays, config = training
    store = CheckpointDir(tmp_path / "x.checkpoints")
    fit(make_model(), arrays, config, progress=False, checkpoints=store)
    other_config = small_config.model.replace(
        {"towers": {"embedding_dim": 4}, "rating": {"layer_sizes": (16,)}}
    )
    other = build_model(other_config, 30, 30)
    with pytest.raises(JointrecError, match="written by a different model or data"):
        fit(other, arrays, config, progress=False, resume=store.latest())


def fake_checkpoint(epoch: int) -> TrainingCheckpoint:
    rng = np.random.default_rng(0)
    history = [{"epoch": e + 1, "loss": 1.0 / (e + 1)} for e in range(epoch)]
    values = [np.full(3, epoch, np.float32)]
    return TrainingCheckpoint(epoch, values, [np.zeros(2)], rng_state(rng), history)


def test_store_keeps_newest_and_ignores_half_written(tmp_path: Path) -> None:
    store = CheckpointDir(tmp_path / "run.checkpoints", keep=2)
    for epoch in (1, 2, 3):
        store.save(fake_checkpoint(epoch))
    assert store.epochs() == [2, 3]
    half = store.path / ".epoch-0004.tmp-abc"  # what a writer killed mid-save leaves
    half.mkdir()
    (half / "arrays.npz").write_bytes(b"PK\x03\x04 half")
    assert store.latest().epoch == 3
    assert store.latest().model_values[0].tolist() == [3.0, 3.0, 3.0]
    store.clean_temporary()
    assert not half.exists()


def test_corrupt_or_newer_checkpoints_are_clear_errors(tmp_path: Path) -> None:
    store = CheckpointDir(tmp_path / "run.checkpoints")
    where = store.save(fake_checkpoint(1))
    data = bytearray((where / "arrays.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (where / "arrays.npz").write_bytes(bytes(data))
    with pytest.raises(JointrecError, match=r"arrays.npz is corrupt .*delete .* to resume from"):
        store.latest()

    where = store.save(fake_checkpoint(2))
    state = json.loads((where / "state.json").read_text())
    state["format_version"] = FORMAT_VERSION + 1
    (where / "state.json").write_text(json.dumps(state))
    with pytest.raises(JointrecError, match="upgrade jointrec to resume this run"):
        store.latest()
    (where / "state.json").write_text("{")
    with pytest.raises(JointrecError, match=r"state\.json is corrupt"):
        store.latest()


# --- the run level: train(checkpoint=True) and resume() ------------------------------------


class Interrupt(BaseException):
    """Stands for Ctrl-C or a crash between two epochs."""


@pytest.fixture
def crash_after_epoch_2(monkeypatch):
    """Makes the next training raise `Interrupt` right after its epoch-2 checkpoint."""
    original = CheckpointDir.save

    def save_then_crash(self, checkpoint):
        path = original(self, checkpoint)
        if checkpoint.epoch == 2:
            monkeypatch.undo()
            raise Interrupt
        return path

    monkeypatch.setattr(CheckpointDir, "save", save_then_crash)


def assert_same_artifact(a_path: Path, b_path: Path) -> None:
    from jointrec.artifact.directory import load_artifact

    a, b = load_artifact(a_path), load_artifact(b_path)
    assert a.metrics == b.metrics
    for name in ("user_embeddings", "item_embeddings", "user_bias", "item_bias"):
        np.testing.assert_array_equal(getattr(a.exported, name), getattr(b.exported, name))
    assert no_seconds(a.history["epochs"]) == no_seconds(b.history["epochs"])


def test_interrupted_run_resumes_to_the_same_artifact(
    tmp_path: Path, small_config, crash_after_epoch_2
) -> None:
    from jointrec.experiments.train import resume, train

    dataset = checkerboard(12)
    reference = train(small_config, data=dataset, out=tmp_path / "ref", progress=False)

    out = tmp_path / "run"
    notes: list[str] = []
    with pytest.raises(Interrupt):
        train(
            small_config,
            data=dataset,
            out=out,
            checkpoint=True,
            progress=False,
            notify=notes.append,
        )
    assert not out.exists() and CheckpointDir(checkpoint_dir_for(out)).epochs() == [1, 2]
    assert notes == [f"the run can be resumed from epoch 2: jointrec train --resume {out}"]

    with pytest.raises(JointrecError, match="interrupted run: pass --resume"):
        train(small_config, data=dataset, out=out, checkpoint=True, progress=False)
    with pytest.raises(JointrecError, match="differs from the data this run started with"):
        resume(out, data=checkerboard(14), progress=False)

    result = resume(out, data=dataset, progress=False)
    assert result.report == reference.report
    assert_same_artifact(out, reference.artifact)
    assert not checkpoint_dir_for(out).exists()  # removed once the artifact is complete
    with pytest.raises(JointrecError, match="is a finished run"):
        resume(out, data=dataset, progress=False)


def test_a_run_that_fails_before_its_first_checkpoint_leaves_nothing(
    tmp_path: Path, small_config, monkeypatch
) -> None:
    """Nothing to resume from: no checkpoints stay behind to block the next run."""
    import jointrec.training.loop as fit_module
    from jointrec.experiments.train import train

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in epoch 1")

    monkeypatch.setattr(fit_module, "epoch_entry", broken)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="a bug in epoch 1"):
        train(small_config, data=checkerboard(12), out=out, checkpoint=True, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert train(small_config, data=checkerboard(12), out=out, checkpoint=True, progress=False)


def test_early_stopping_state_survives_a_crash(
    tmp_path: Path, small_config, crash_after_epoch_2
) -> None:
    """Early stopping's best score, patience and best weights are in the checkpoint."""
    from jointrec.experiments.train import resume, train

    config = small_config.replace(
        train={"epochs": 4, "early_stopping": 1, "early_stopping_metric": "recall@10"},
        split={"validation_fraction": 0.2},
    )
    dataset = checkerboard(12, repeats=2)
    reference = train(config, data=dataset, out=tmp_path / "ref", progress=False)
    assert all("val_recall@10" in e for e in reference.trained.history.epochs)
    with pytest.raises(Interrupt):
        train(config, data=dataset, out=tmp_path / "run", checkpoint=True, progress=False)
    resume(tmp_path / "run", data=dataset, progress=False)
    assert_same_artifact(tmp_path / "run", reference.artifact)


def test_experiment_run_resumes_with_its_manifest(
    tmp_path: Path, small_config, crash_after_epoch_2
) -> None:
    """`jointrec train` runs (experiment settings, own CSV data) resume from run.json alone."""
    from jointrec.experiments.train import resume, train
    from jointrec.settings import resolve_experiment

    x = checkerboard(12).interactions
    csv = tmp_path / "events.csv"
    rows = zip(x.user.tolist(), x.item.tolist(), x.rating.tolist(), strict=True)
    csv.write_text("u,i,stars\n" + "".join(f"{u},{i},{r}\n" for u, i, r in rows))
    settings = {
        "data": {
            "interactions": str(csv),
            "user_col": "u",
            "item_col": "i",
            "rating_col": "stars",
            "rating_scale": [1, 5],
        },
        "model": {"embedding_dim": 8, "layer_sizes": [16]},
        "train": {"batch_size": 64, "epochs": 3},
    }
    ref = train(
        resolve_experiment(None, {**settings, "out": str(tmp_path / "ref")}), progress=False
    )
    experiment = resolve_experiment(None, {**settings, "out": str(tmp_path / "run")})
    with pytest.raises(Interrupt):
        train(experiment, progress=False, checkpoint=True)
    done = resume(tmp_path / "run", progress=False)
    assert done.report == ref.report and done.manifest is not None and done.manifest.is_file()
    assert_same_artifact(tmp_path / "run", tmp_path / "ref")


def test_resume_without_checkpoints(tmp_path: Path) -> None:
    from jointrec.experiments.train import resume

    with pytest.raises(JointrecError, match=r"no checkpoints at .*nothing to resume"):
        resume(tmp_path / "never", progress=False)


def test_cli_resume_refuses_new_settings(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from jointrec.cli.app import app

    result = CliRunner().invoke(app, ["train", "--resume", str(tmp_path / "r"), "--epochs", "9"])
    assert result.exit_code == 1
    assert "error: --resume finishes a run with the settings it started with, but got " in (
        result.output
    )
    assert "--epochs" in result.output and "Traceback" not in result.output


# --- end to end: SIGKILL a real training process --------------------------------------------


@pytest.mark.slow
@pytest.mark.e2e
def test_sigkill_mid_training_then_resume_is_bit_identical(tmp_path: Path) -> None:
    rows = [
        f"{u}\t{i}\t{1 + (u + i) % 5}\t{880000000 + 97 * u + i}"
        for u in range(1, 251)
        for i in range(1, 301)
        if (u * i) % 5 != 0
    ]  # ~60k ratings: ~1.5k steps of 32, so an epoch lasts long enough to be killed inside
    data = write_ml100k_zip(
        tmp_path / "ml.zip", "\n".join(rows) + "\n", num_items=300, num_users=250
    )
    # The tutorial's small architecture (quick to compile) with Adam and a fresh shuffle every
    # epoch, so that optimizer moments and the shuffler's state must both survive the kill.
    (tmp_path / "exp.toml").write_text(
        textwrap.dedent(
            f"""
            preset = "tutorial"
            [data]
            dataset = "100k"
            path = "{data}"
            [model]
            embedding_dim = 8
            [train]
            epochs = 4
            batch_size = 32
            optimizer = "adam"
            learning_rate = 0.01
            shuffle_each_epoch = true
            """
        )
    )
    flags = ["--config", "exp.toml", "--quiet", "--json"]

    # 1. Uninterrupted, without checkpoints.
    done = run_cli("train", "--out", "ref", "--no-checkpoint", *flags, cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    # 2. The same run, SIGKILLed during its third epoch.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "KERAS_BACKEND": "jax"}
    child = subprocess.Popen(
        [sys.executable, "-m", "jointrec", "train", "--out", "run", *flags],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = CheckpointDir(tmp_path / "run.checkpoints")
    deadline = time.monotonic() + 240
    try:
        while 2 not in store.epochs() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # into epoch 3
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert not (tmp_path / "run").exists(), "the run finished before it could be killed"
    killed_at = store.epochs()[-1]
    assert 2 <= killed_at < 4

    # 3. Resume in a new process.
    done = run_cli("train", "--resume", "run", "--quiet", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not store.path.exists()

    ref, run = tmp_path / "ref", tmp_path / "run"
    assert json.loads((run / "metrics.json").read_text()) == json.loads(
        (ref / "metrics.json").read_text()
    )
    a = np.load(run / "exported.npz", allow_pickle=False)
    b = np.load(ref / "exported.npz", allow_pickle=False)
    assert a.files == b.files
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    history = [json.loads((d / "history.json").read_text())["epochs"] for d in (run, ref)]
    assert no_seconds(history[0]) == no_seconds(history[1]) and len(history[0]) == 4
    shutil.rmtree(ref)
