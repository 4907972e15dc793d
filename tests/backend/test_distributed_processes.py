"""Two real processes on this machine (JAX distributed, gloo CPU collectives).

Every wait is bounded: the launcher's --timeout, the cluster's --cluster-timeout and the
subprocess timeouts, so a failure can never hang CI.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
EPOCHS, BATCH = 3, 64
TRAIN_FLAGS = [
    "--epochs", str(EPOCHS), "--batch-size", str(BATCH), "--embedding-dim", "8",
    "--quiet", "--json", "--cluster-timeout", "60",
]  # fmt: skip
TOLERANCE = 1e-5


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)  # one CPU device per process
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    return env


def _jointrec(*args: str) -> list[str]:
    return [sys.executable, "-m", "jointrec", *args]


@pytest.fixture(scope="module")
def small_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from jointrec.testing import write_tiny_ml100k

    # 40 users x 15 ratings; vocabularies of 41 users and 31 items do not split evenly over
    # two devices, so sharded tables are padded.
    return write_tiny_ml100k(tmp_path_factory.mktemp("data") / "ml-100k.zip", users=40, items=30)


@pytest.fixture(scope="module")
def lean(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The default preset (full softmax with its seen mask, Adam, biases) without the side
    features and with a small MLP, to keep compilation short; plus the shared flags."""
    path = tmp_path_factory.mktemp("config") / "lean.toml"
    path.write_text(
        "[model]\nlayer_sizes = [16]\nuser_history = 0\nuser_features = []\nitem_features = []\n"
    )
    return ["--config", str(path), *TRAIN_FLAGS]


@pytest.fixture(scope="module")
def single(small_zip: Path, lean: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: one process (the ordinary `jointrec train`), same flags."""
    from typer.testing import CliRunner

    from jointrec.cli.app import app

    out = tmp_path_factory.mktemp("single") / "artifact"
    done = CliRunner().invoke(app, ["train", "--data", str(small_zip), "--out", str(out),
                                    *lean])  # fmt: skip
    assert done.exit_code == 0, done.output
    return out


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path / "exported.npz") as data:
        return {k: data[k] for k in data.files}


def _history(path: Path) -> list[dict[str, float]]:
    return json.loads((path / "history.json").read_text())["epochs"]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("shard", [False, True], ids=["replicated", "sharded-embeddings"])
def test_two_processes_match_one_and_the_artifact_serves(small_zip, lean, single, tmp_path, shard):
    from typer.testing import CliRunner

    from jointrec.artifact.directory import load_artifact
    from jointrec.cli.app import app
    from jointrec.experiments.evaluate import evaluate_artifact
    from jointrec.inference.recommender import Recommender

    out = tmp_path / "two"
    extra = ["--shard-embeddings"] if shard else []
    command = _jointrec(
        "launch", "-n", "2", "--timeout", "200", "--log-dir", str(tmp_path / "logs"), "--",
        "train", "--data", str(small_zip), "--out", str(out), *lean, *extra,
    )  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=220)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["artifact"] == str(out)
    assert "joined: process 0 of 2: 1 local / 2 global cpu device(s)" in done.stderr

    # Same losses, epoch by epoch, and the same final weights.
    for got, want in zip(_history(out), _history(single), strict=True):
        for key in ("loss", "retrieval_loss", "rating_loss"):
            assert got[key] == pytest.approx(want[key], abs=TOLERANCE), (got, want)
    got, want = _arrays(out), _arrays(single)
    assert got.keys() == want.keys()
    for key in got:
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=TOLERANCE, err_msg=key)
    two_keras = load_artifact(out).keras_model()
    one_keras = load_artifact(single).keras_model()
    for a, b in zip(two_keras.variables, one_keras.variables, strict=True):
        np.testing.assert_allclose(np.asarray(a.value), np.asarray(b.value), atol=TOLERANCE)

    # Only process 0 wrote: worker 1 printed its join line and nothing else of note.
    worker_log = (tmp_path / "logs" / "worker-1.log").read_text()
    assert "joined: process 1 of 2" in worker_log and '"artifact"' not in worker_log

    # The artifact loads, evaluates and recommends like a single-process one.
    metrics = json.loads((out / "metrics.json").read_text())
    assert evaluate_artifact(out, data=small_zip) == pytest.approx(metrics)
    assert metrics["rmse"] == pytest.approx(
        json.loads((single / "metrics.json").read_text())["rmse"], abs=TOLERANCE
    )
    rec_two, rec_one = Recommender.load(out), Recommender.load(single)
    for user in (1, 7, 40):
        a = rec_two.recommend(user, k=5, candidates=20).items
        b = rec_one.recommend(user, k=5, candidates=20).items
        assert [r.item_id for r in a] == [r.item_id for r in b]
        assert [r.predicted_rating for r in a] == pytest.approx(
            [r.predicted_rating for r in b], abs=TOLERANCE
        )
    cli = CliRunner().invoke(
        app, ["recommend", str(out), "--user", "5", "-k", "3", "--candidates", "20", "--json"]
    )
    assert cli.exit_code == 0, cli.output
    assert len(json.loads(cli.output)["recommendations"]) == 3


@pytest.mark.timeout(180)
def test_a_killed_worker_stops_the_run_with_a_clear_error(small_zip, tmp_path):
    command = _jointrec(
        "launch", "-n", "2", "--timeout", "150", "--log-dir", str(tmp_path / "logs"), "--",
        "train", "--data", str(small_zip), "--out", str(tmp_path / "never"),
        "--epochs", "100000", "--batch-size", str(BATCH), "--quiet", "--cluster-timeout", "60",
    )  # fmt: skip
    launcher = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=_env())
    pids: dict[int, int] = {}
    seen: list[str] = []
    killed_at = None
    try:
        assert launcher.stderr is not None
        deadline = time.monotonic() + 120
        for line in launcher.stderr:
            seen.append(line)
            if m := re.match(r"launched worker (\d) of 2 \(pid (\d+)\)", line):
                pids[int(m[1])] = int(m[2])
            if line.startswith("joined: process 0 of 2"):  # both processes are in the cluster
                os.kill(pids[1], signal.SIGKILL)
                killed_at = time.monotonic()
                break
            assert time.monotonic() < deadline, "".join(seen)
        assert killed_at is not None, "".join(seen)
        _, rest = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait(timeout=10)
    seen.append(rest)
    stopped_after = time.monotonic() - killed_at
    assert launcher.returncode == 1, "".join(seen)
    assert stopped_after < 30
    last = rest.strip().splitlines()[-1]
    assert re.fullmatch(
        r"error: worker 1 of 2 \(pid \d+\) was killed by SIGKILL(, worker 0 exited with code 1)?; "
        r"stopped the [01] other running worker\(s\); its output: .*worker-1\.log",
        last,
    ), last
    for pid in pids.values():  # nothing left behind
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not (tmp_path / "never").exists()


@pytest.mark.timeout(120)
def test_a_process_whose_coordinator_never_answers_gives_up_in_time(small_zip):
    from jointrec.experiments.launcher import free_port

    address = f"127.0.0.1:{free_port()}"
    start = time.monotonic()
    done = subprocess.run(
        _jointrec(
            "train", "--data", str(small_zip), "--num-processes", "2", "--process-id", "1",
            "--coordinator", address, "--cluster-timeout", "3", "--quiet",
        ),
        capture_output=True, text=True, env=_env(), timeout=100,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: process 1 of 2 could not join the cluster at {address} within 3 s: start every "
        "process with the same --coordinator and --num-processes (process 0 listens there) and "
        "check that the port is free on its host and reachable"
    )
    assert time.monotonic() - start < 60
