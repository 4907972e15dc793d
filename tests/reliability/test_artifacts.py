"""Point 2: artifacts are written atomically, versioned, checked on load and never unpickled.

One small artifact is trained once; each test damages a copy of it and checks that loading
fails with one clear `JointrecError`, never a traceback or a silently different model.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reliability_helpers import ROOT

from jointrec.artifact.directory import FORMAT_VERSION, REQUIRED, load_artifact, save_artifact
from jointrec.errors import JointrecError
from jointrec.inference.recommender import Recommender


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory, small_config) -> Path:
    from jointrec.experiments.train import train
    from jointrec.testing import checkerboard

    out = tmp_path_factory.mktemp("artifact") / "joint"
    config = small_config.replace(train={"epochs": 1})
    train(config, data=checkerboard(12), out=out, progress=False)
    return out


@pytest.fixture
def copy(artifact: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(artifact, target)
    return target


def load_error(path: Path) -> str:
    with pytest.raises(JointrecError) as info:
        load_artifact(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def rewrite_manifest(root: Path, **changes: object) -> None:
    manifest = json.loads((root / "artifact.json").read_text())
    manifest.update(changes)
    (root / "artifact.json").write_text(json.dumps(manifest))


def reseal(root: Path, name: str) -> None:
    """Recomputes one file's checksum, as an attacker who edits the manifest too would."""
    manifest = json.loads((root / "artifact.json").read_text())
    manifest["files"][name] = hashlib.sha256((root / name).read_bytes()).hexdigest()
    (root / "artifact.json").write_text(json.dumps(manifest))


def test_round_trip(artifact: Path) -> None:
    art = load_artifact(artifact)
    manifest = json.loads((artifact / "artifact.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert set(manifest["files"]) >= set(REQUIRED) - {"artifact.json"}
    assert "artifact.json" not in manifest["files"]
    assert Recommender.load(artifact).recommend(2, k=3, candidates=5).items
    assert art.keras_model() is not None
    assert not list(artifact.parent.glob(".*tmp-*"))


@pytest.mark.parametrize("name", REQUIRED)
def test_missing_file(copy: Path, name: str) -> None:
    (copy / name).unlink()
    assert f"is incomplete: missing {name}" in load_error(copy)


@pytest.mark.parametrize("name", ["exported.npz", "seen.npz", "model.keras", "items.json"])
def test_truncated_file(copy: Path, name: str) -> None:
    data = (copy / name).read_bytes()
    (copy / name).write_bytes(data[: len(data) // 2])
    assert f": {name} is corrupt (its SHA-256 differs" in load_error(copy)


@pytest.mark.parametrize("name", ["exported.npz", "seen.npz"])
def test_truncated_array_file_without_checksums(copy: Path, name: str) -> None:
    """Artifacts written before checksums: the NumPy reader itself fails cleanly."""
    rewrite_manifest(copy, files=None)
    data = (copy / name).read_bytes()
    (copy / name).write_bytes(data[: len(data) // 2])
    message = load_error(copy)
    assert name in message and "is corrupt or unsafe" in message


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    name=st.sampled_from(sorted(set(REQUIRED) | {"model.keras", "history.json"})),
    position=st.floats(0, 0.999),
    value=st.integers(0, 255),
)
def test_changed_bytes_are_detected_or_harmless(artifact, tmp_path_factory, name, position, value):
    root = tmp_path_factory.mktemp("flip") / "a"
    shutil.copytree(artifact, root)
    data = bytearray((root / name).read_bytes())
    where = int(len(data) * position)
    assume(data[where] != value)
    data[where] = value
    (root / name).write_bytes(bytes(data))
    if name != "artifact.json":  # every other file is covered by its SHA-256
        assert str(root) in load_error(root)
        return
    try:  # the manifest: a clean error, or a byte that changes nothing the model uses
        damaged = load_artifact(root)
    except JointrecError as err:
        assert "\n" not in str(err)
        return
    original = load_artifact(artifact)
    assert damaged.config == original.config and damaged.metrics == original.metrics
    assert damaged.users == original.users and damaged.items == original.items
    np.testing.assert_array_equal(damaged.exported.item_vectors, original.exported.item_vectors)
    np.testing.assert_array_equal(damaged.seen.indices, original.seen.indices)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (FORMAT_VERSION + 1, f"has format version {FORMAT_VERSION + 1}; this jointrec reads"),
        (99, "upgrade jointrec"),
        ("1", "invalid format version '1'"),
        (True, "invalid format version True"),
        (0, "invalid format version 0"),
        (None, "invalid format version None"),
    ],
)
def test_format_version(copy: Path, version: object, expected: str) -> None:
    rewrite_manifest(copy, format_version=version)
    assert expected in load_error(copy)


def test_not_an_artifact(copy: Path, tmp_path: Path) -> None:
    rewrite_manifest(copy, format="something-else")
    assert "does not describe a jointrec-artifact" in load_error(copy)
    assert "does not exist" in load_error(tmp_path / "nowhere")
    (copy / "artifact.json").write_text("{not json")
    assert "artifact.json is corrupt" in load_error(copy)


def test_inconsistent_parts_are_refused(copy: Path) -> None:
    vocab = json.loads((copy / "vocab.json").read_text())
    vocab["items"]["ids"] = vocab["items"]["ids"][:-1]
    (copy / "vocab.json").write_text(json.dumps(vocab))
    reseal(copy, "vocab.json")
    message = load_error(copy)
    assert "is corrupt: exported item embeddings" in message


SENTINEL_PAYLOAD = """
import numpy as np, os, sys
class Boom:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
arrays = dict(np.load(sys.argv[1], allow_pickle=False))
arrays["user_embeddings"] = np.array([Boom()], dtype=object)
with open(sys.argv[1], "wb") as f:
    np.savez(f, **arrays)
"""


def test_pickled_arrays_are_never_executed(copy: Path, tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    script = tmp_path / "poison.py"
    script.write_text(SENTINEL_PAYLOAD)
    subprocess.run(
        [sys.executable, str(script), str(copy / "exported.npz"), str(sentinel)], check=True
    )
    reseal(copy, "exported.npz")  # the checksum cannot be what saves us here
    message = load_error(copy)
    assert "exported.npz is corrupt or unsafe" in message and "pickled" in message
    assert not sentinel.exists()


def test_keras_model_loads_in_safe_mode_only(copy: Path) -> None:
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(copy / "model.keras")
    reseal(copy, "model.keras")
    art = load_artifact(copy)  # the NumPy parts are fine; the Keras file is only read on demand
    with pytest.raises(JointrecError, match="cannot be loaded in Keras safe mode") as info:
        art.keras_model()
    assert "Lambda" in str(info.value)


def test_no_pickle_anywhere_in_the_library() -> None:
    """Every NumPy load passes allow_pickle=False; nothing imports pickle or leaves safe mode."""
    sources = list((ROOT / "src" / "jointrec").rglob("*.py"))
    assert sources
    for path in sources:
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(c?pickle|dill|joblib)\b", text, re.M), path
        assert "allow_pickle=True" not in text, path
        assert "safe_mode=False" not in text, path
        for call in re.finditer(r"np\.load\(([^)]*)\)", text):
            assert "allow_pickle=False" in call.group(1), (path, call.group(0))


def test_failed_save_leaves_nothing_and_keeps_the_old_artifact(copy: Path) -> None:
    art = load_artifact(copy)

    def broken(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError("disk full")

    fields = {
        "config": art.config,
        "exported": art.exported,
        "users": art.users,
        "items": art.items,
        "item_table": art.item_table,
        "seen": art.seen,
        "metrics": art.metrics,
    }
    fresh = copy.parent / "fresh"
    with pytest.raises(OSError, match="disk full"):
        save_artifact(fresh, **fields, extra_files={"index.bin": broken})
    assert not fresh.exists()
    before = (copy / "metrics.json").read_bytes()
    with pytest.raises(OSError, match="disk full"):
        save_artifact(copy, **fields, overwrite=True, extra_files={"index.bin": broken})
    assert (copy / "metrics.json").read_bytes() == before
    load_artifact(copy)
    assert sorted(p.name for p in copy.parent.iterdir()) == ["copy"]


KILL_DURING_SAVE = """
import os, signal, sys
from jointrec.artifact.directory import load_artifact, save_artifact
art = load_artifact(sys.argv[1])
def die(path):
    path.write_bytes(b"half written")
    os.kill(os.getpid(), signal.SIGKILL)
save_artifact(
    sys.argv[1], config=art.config, exported=art.exported, users=art.users, items=art.items,
    item_table=art.item_table, seen=art.seen, metrics={"replaced": True}, overwrite=True,
    extra_files={"index.bin": die},
)
"""


def test_sigkill_during_save_keeps_the_old_artifact(copy: Path) -> None:
    before = load_artifact(copy).metrics
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILL_DURING_SAVE), str(copy)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert load_artifact(copy).metrics == before
    assert not (copy / "index.bin").exists()
    leftovers = [p.name for p in copy.parent.iterdir() if p.name != "copy"]
    assert all(".copy.tmp-" in name for name in leftovers), leftovers  # ignored by readers


def test_cli_prints_one_error_line_for_a_damaged_artifact(copy: Path) -> None:
    from typer.testing import CliRunner

    from jointrec.cli.app import app

    data = (copy / "exported.npz").read_bytes()
    (copy / "exported.npz").write_bytes(data[:100])
    result = CliRunner().invoke(app, ["recommend", str(copy), "--user", "2"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: artifact "), result.output
    assert "exported.npz is corrupt" in lines[0]
