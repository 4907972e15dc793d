"""`ValidationMonitor`: logs validation metrics, stops on patience, restores the best."""

from __future__ import annotations

import pytest

from jointrec.errors import JointrecError
from jointrec.training.early_stopping import ValidationMonitor


class _FakeModel:
    def __init__(self) -> None:
        self.weights = [0]

    def get_weights(self):
        return list(self.weights)

    def set_weights(self, weights):
        self.weights = list(weights)


def _run(values, metric="rmse", patience=2):
    model = _FakeModel()
    reports = iter(values)
    monitor = ValidationMonitor(model, lambda m: {metric: next(reports)}, metric, patience)
    logs, stopped_at = [], None
    for epoch in range(len(values)):
        model.weights = [epoch + 1]
        entry: dict[str, float] = {}
        if monitor(epoch, entry):
            stopped_at = epoch + 1
        logs.append(entry)
        if stopped_at:
            break
    monitor.restore_best()
    return monitor, model, logs, stopped_at


def test_stops_after_patience_and_restores_best_rmse():
    monitor, model, logs, stopped = _run([0.95, 0.92, 0.93, 0.94, 0.90])
    assert stopped == 4 and monitor.best_epoch == 2 and model.weights == [2]
    assert logs[0]["val_rmse"] == 0.95


def test_higher_is_better_for_ranking_metrics():
    monitor, model, _, stopped = _run([0.1, 0.3, 0.2], metric="recall@10", patience=5)
    assert stopped is None and monitor.best_epoch == 2 and model.weights == [2]


def test_patience_zero_only_logs():
    _, model, logs, stopped = _run([0.9, 1.0, 1.1], patience=0)
    assert stopped is None and len(logs) == 3 and model.weights == [3]


def test_unknown_metric_is_a_clear_error():
    monitor = ValidationMonitor(_FakeModel(), lambda m: {"rmse": 1.0}, "auc", 1)
    with pytest.raises(JointrecError, match="early_stopping_metric='auc'"):
        monitor(0, {})
