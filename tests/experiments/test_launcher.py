"""The local launcher's argument checks and worker command lines (no processes started)."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from jointrec.errors import JointrecError
from jointrec.experiments.launcher import check_args, free_port, worker_command


def test_worker_command_appends_the_cluster_flags():
    assert worker_command(["train", "--data", "x.zip"], 1, 2, 8476) == [
        sys.executable,
        "-m",
        "jointrec",
        "train",
        "--data",
        "x.zip",
        "--num-processes",
        "2",
        "--process-id",
        "1",
        "--coordinator",
        "127.0.0.1:8476",
    ]


@pytest.mark.parametrize(
    ("args", "n", "message"),
    [
        ([], 2, "nothing to launch: give the command after --"),
        (["compare"], 2, "cannot launch 'compare': expected one of ['train'] after --"),
        (["train", "--process-id", "1"], 2, "--process-id is set by launch for each worker"),
        (["train", "--coordinator=h:1"], 2, "--coordinator is set by launch for each worker"),
        (["train"], 0, "-n 0 is invalid: expected at least 1 process"),
    ],
)
def test_bad_launch_arguments(args, n, message):
    with pytest.raises(JointrecError) as err:
        check_args(args, n)
    assert message in str(err.value)


def test_free_port_is_a_valid_port():
    assert 1 <= free_port() <= 65535


def test_cli_prints_one_error_line_for_a_bad_command():
    from jointrec.cli.app import app

    result = CliRunner().invoke(app, ["launch", "-n", "2", "--", "recommend", "runs/x"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: cannot launch 'recommend': expected one of ['train'] after --, e.g. jointrec "
        "launch -n 2 -- train --data ml-100k.zip"
    ]
