"""What a user can get wrong, done through the CLI: nothing of theirs is lost or overwritten,
and every mistake is one ``error:`` line (issue: "Trust"). Each test failed on the code
before the fix it checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jointrec.cli.app import app
from jointrec.testing import write_tiny_ml100k

QUICK = ["--epochs", "1", "--batch-size", "64", "--quiet"]
SRC = Path(__file__).resolve().parents[2] / "src"


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_error_line(result, *fragments: str) -> str:
    """The one ``error:`` line of a failed command, checked to hold ``fragments``."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def zipped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return write_tiny_ml100k(tmp_path / "ml-100k.zip", users=12, items=16)


def csv(tmp_path: Path, text: str, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1") if isinstance(text, str) else text)
    return path


# 1. serving works after the README's first command -------------------------------------


def test_serving_is_part_of_the_core_install():
    """`pip install -e .` (the README's first command) brings what serving imports."""
    import tomllib

    project = tomllib.loads((SRC.parent / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    for package in ("fastapi", "uvicorn", "orjson", "faiss-cpu", "prometheus-client"):
        assert package in core, package


def test_a_missing_package_is_one_line_naming_what_to_install(zipped, tmp_path, monkeypatch):
    run = tmp_path / "run"
    assert invoke("train", "--data", zipped, "--out", run, *QUICK).exit_code == 0
    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if it were not installed
    for name in [m for m in sys.modules if m.startswith("jointrec.serve")]:
        monkeypatch.delitem(sys.modules, name)
    line = one_error_line(invoke("serve", run), "needs the package 'fastapi'", "pip install")
    assert "reinstall jointrec" in line


# 2. --overwrite replaces only run directories ----------------------------------------------


def test_overwrite_never_deletes_a_folder_of_yours(zipped, tmp_path):
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "notes.txt").write_text("keep me")
    result = invoke("train", "--data", zipped, "--out", mine, "--overwrite", *QUICK)
    line = one_error_line(result, "is a folder jointrec did not write", "notes.txt")
    assert "pass --overwrite" not in line
    assert (mine / "notes.txt").read_text() == "keep me" and (mine / "sub").is_dir()


def test_overwrite_never_replaces_a_file_or_the_current_folder(zipped, tmp_path):
    target = tmp_path / "passwd"
    target.write_text("root:x:0:0")
    for flags in ([], ["--overwrite"]):
        result = invoke("train", "--data", zipped, "--out", target, *flags, *QUICK)
        line = one_error_line(result, "is a file, not a run directory")
        assert "--overwrite" not in line.split(":", 1)[1].replace("--out", "")
    assert target.read_text() == "root:x:0:0"
    line = one_error_line(invoke("train", "--data", zipped, "--out", ".", "--overwrite", *QUICK))
    assert "is the current folder" in line
    assert (tmp_path / "ml-100k.zip").is_file() and not list(tmp_path.glob("*.checkpoints"))


def test_overwrite_replaces_a_run_and_an_empty_folder_is_used(zipped, tmp_path):
    run = tmp_path / "run"
    assert invoke("train", "--data", zipped, "--out", run, *QUICK).exit_code == 0
    again = invoke("train", "--data", zipped, "--out", run, *QUICK)
    one_error_line(again, "already holds a run", "pass --overwrite")
    assert invoke("train", "--data", zipped, "--out", run, "--overwrite", *QUICK).exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert invoke("train", "--data", zipped, "--out", empty, *QUICK).exit_code == 0
    assert (empty / "artifact.json").is_file()


# 4. your own CSV: duplicates and a stray negative rating --------------------------------


def test_duplicate_pairs_in_your_csv_are_an_error_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = "u,i,r\n" + "".join(f"{u},{i},4\n" for u in range(1, 9) for i in range(1, 7))
    path = csv(tmp_path, rows + "3,2,5\n")
    args = ["train", "--interactions", path, "--user-col", "u", "--item-col", "i"]
    args += ["--rating-col", "r", "--out", tmp_path / "run", *QUICK]
    one_error_line(invoke(*args), "line 50 repeats the (user, item) pair (3, 2) of line 15")
    kept = invoke(*args, "--duplicates", "keep_last")
    assert kept.exit_code == 0, kept.output
    assert "1 repeated (user, item) rows" in kept.stderr


def test_a_negative_rating_does_not_silently_widen_the_scale(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = "u,i,r\n" + "".join(f"{u},{i},{1 + (u + i) % 5}\n" for u in range(1, 9) for i in (1, 2))
    path = csv(tmp_path, rows.replace("\n3,1,5\n", "\n3,1,-3\n"))
    args = ["train", "--interactions", path, "--user-col", "u", "--item-col", "i"]
    args += ["--rating-col", "r", "--out", tmp_path / "run", *QUICK]
    one_error_line(invoke(*args), "line 6: column 'r' holds -3", "--rating-scale")
    widened = invoke(*args, "--rating-scale", "-5", "5")
    assert widened.exit_code == 0, widened.output


# 5. no tracebacks, and a failed run leaves nothing that blocks the next one --------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seed", "-1"], "seed=-1 is invalid"),
        (["--learning-rate", "inf"], "learning_rate=inf is invalid: expected a finite number"),
        (["--learning-rate", "1e30"], "learning_rate=1e+30 is invalid: expected in (0, 100]"),
        (["--rating-weight", "inf"], "rating_weight=inf is invalid: expected a finite number"),
        (["--retrieval-weight", "-1"], "retrieval_weight=-1.0 is invalid"),
        (["--learning-rate", "nan"], "learning_rate=nan is invalid"),
    ],
)
def test_out_of_range_settings_are_one_line_and_leave_nothing(zipped, tmp_path, flags, message):
    result = invoke("train", "--data", zipped, "--out", tmp_path / "run", *flags, *QUICK)
    one_error_line(result, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ml-100k.zip"]


def test_a_diverging_run_stops_with_one_line_and_leaves_nothing(zipped, tmp_path):
    result = invoke(
        "train", "--data", zipped, "--out", tmp_path / "run", "--learning-rate", "100",
        "--optimizer", "sgd", "--epochs", "3", "--batch-size", "64", "--quiet",
    )  # fmt: skip
    one_error_line(result, "training diverged in epoch ", "lower the learning rate")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ml-100k.zip"]
    ok = invoke("train", "--data", zipped, "--out", tmp_path / "run", *QUICK)
    assert ok.exit_code == 0, ok.output  # nothing left blocks a fresh run


def test_a_batch_larger_than_the_data_holds_all_of_it(zipped, tmp_path):
    result = invoke(
        "train", "--data", zipped, "--out", tmp_path / "run", "--batch-size", "100000000",
        "--epochs", "1", "--quiet", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metrics"]["recall@10"] >= 0


# 6. two runs on one --out ------------------------------------------------------------------


def test_a_second_run_on_a_busy_out_fails_at_once_naming_the_holder(zipped, tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import time
                from jointrec.experiments.run_dir import RunLock
                with RunLock({str(run)!r}, "jointrec train --out run"):
                    print("locked", flush=True)
                    time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        start = time.perf_counter()
        result = invoke("train", "--data", zipped, "--out", run, "--overwrite", *QUICK)
        assert time.perf_counter() - start < 10  # at once, not after training
        one_error_line(
            result, f"another run is writing {run}", f"pid {holder.pid}", "jointrec train"
        )
    finally:
        holder.kill()
        holder.wait()
    # The holder was killed: its lock is stale, and the next run takes it over.
    assert invoke("train", "--data", zipped, "--out", run, *QUICK).exit_code == 0
    assert not list(tmp_path.glob(".run.lock*"))


# 7. messages that said something else ------------------------------------------------------


def test_a_folder_where_a_file_is_expected_and_the_reverse_say_so(zipped, tmp_path):
    (tmp_path / "events").mkdir()
    line = one_error_line(
        invoke("train", "--interactions", tmp_path / "events", "--out", tmp_path / "r", *QUICK)
    )
    assert "is a directory: expected a CSV or Parquet file" in line
    line = one_error_line(invoke("evaluate", zipped))
    assert "is a file: expected a run directory" in line
    line = one_error_line(invoke("train", "--config", tmp_path / "events", *QUICK))
    assert "is a directory: expected a TOML file" in line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"u,i,r\n1,1,5\n\xe9,2,3\n", "line 3, column 'u' (byte 1): b'\\xe9' is not valid utf-8"),
        (b"u,i,r\n1,1,5\n1,2,nan\n", "line 3: column 'r' holds 'nan', which reads as no value"),
        (b"u,i,r\n1,1,5\n1,2,\n1,3,x\n", "column 'r' holds string, e.g. 'x' on"),
        (b"u,u,r\n1,1,5\n", "names the column 'u' more than once"),
    ],
)
def test_bad_csv_cells_name_the_line_and_what_is_there(tmp_path, monkeypatch, content, message):
    monkeypatch.chdir(tmp_path)
    path = csv(tmp_path, content)
    args = ["--user-col", "u", "--item-col", "i", "--rating-col", "r", *QUICK]
    one_error_line(
        invoke("train", "--interactions", path, "--out", tmp_path / "run", *args), message
    )


def test_index_without_ann_shows_what_is_built_and_data_info_is_a_table(zipped, tmp_path):
    run = tmp_path / "run"
    assert invoke("train", "--data", zipped, "--out", run, *QUICK).exit_code == 0
    shown = invoke("index", run)
    assert shown.exit_code == 0 and "exact search over 16 items" in shown.output
    info = invoke("data", "info", "--data", zipped)
    assert info.exit_code == 0 and "{" not in info.output and "ratings" in info.output
