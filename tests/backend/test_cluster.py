"""ClusterSpec validation and the train command's cluster flags (no processes started)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from jointrec.backend.jax.cluster import ClusterSpec, parse_address
from jointrec.errors import JointrecError


def test_single_process_spec_is_not_distributed():
    spec = ClusterSpec()
    assert not spec.distributed
    assert spec.is_chief


@pytest.mark.parametrize(
    "kwargs",
    [{"shard_embeddings": True}, {"all_devices": True}, {"num_processes": 2, "coordinator": "h:1"}],
)
def test_each_flag_turns_on_the_multi_device_path(kwargs):
    assert ClusterSpec(**kwargs).distributed


def test_only_process_zero_is_chief():
    assert not ClusterSpec(num_processes=3, process_id=2, coordinator="h:1").is_chief


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_processes": 0}, "num_processes=0 is invalid: expected an integer >= 1"),
        ({"num_processes": 2, "process_id": 2, "coordinator": "h:1"}, "process_id=2 is out of"),
        ({"process_id": -1}, "process_id=-1 is out of range"),
        ({"num_processes": 2}, "num_processes=2 needs a coordinator: pass --coordinator"),
        ({"num_processes": 2, "coordinator": "nohost"}, "coordinator address 'nohost' is"),
        ({"num_processes": 2, "coordinator": "h:70000"}, "a port in 1..65535"),
        ({"timeout": 0}, "timeout=0 is invalid: expected seconds > 0"),
    ],
)
def test_bad_specs_name_the_value_and_the_fix(kwargs, message):
    with pytest.raises(JointrecError, match=message.replace("(", r"\(").replace("[", r"\[")):
        ClusterSpec(**kwargs)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.0.0.1:8476", ("10.0.0.1", 8476)),
        ("node-7.local:1", ("node-7.local", 1)),
        ("[::1]:65535", ("[::1]", 65535)),
    ],
)
def test_parse_address(address, expected):
    assert parse_address(address) == expected


def test_train_rejects_inconsistent_cluster_flags_before_loading_data(tmp_path):
    from jointrec.cli.app import app

    result = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(tmp_path / "missing.zip"),
            "--num-processes",
            "2",
            "--process-id",
            "1",
            "--out",
            str(tmp_path / "a"),
        ],
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: num_processes=2 needs a coordinator: pass --coordinator HOST:PORT of process 0 "
        "(the same on every process), or use `jointrec launch`"
    ]


def test_a_single_device_spec_leaves_ordinary_training_in_place():
    from jointrec.backend.jax.cluster import active, using

    with using(ClusterSpec()) as cluster:
        assert active() is None
        assert cluster.describe().startswith("process 0 of 1: ")
    with using(ClusterSpec(all_devices=True)) as cluster:
        assert active() is cluster
    assert active() is None
