"""`ValidationMonitor`: per-epoch validation metrics and early stopping, as a `fit` hook.

Example:
    >>> monitor = ValidationMonitor(model, evaluate_fn, metric="rmse", patience=2)  # doctest: +SKIP
    >>> fit(model, data, config, on_epoch_end=monitor)  # doctest: +SKIP
    >>> monitor.restore_best()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jointrec.errors import JointrecError

LOWER_IS_BETTER = ("rmse", "mae", "rmse_label")


class ValidationMonitor:
    """Evaluates the model after each epoch; stops after ``patience`` epochs without
    improvement of ``metric`` and remembers the best epoch's weights.

    Args:
        model: The model being trained (a Keras model: ``get_weights``/``set_weights``).
        evaluate: Maps the model to a validation report (a dict of metrics).
        metric: The report entry to watch; ``rmse``/``mae`` are minimised, others maximised.
        patience: Epochs without improvement before stopping; 0 never stops (metrics are
            still logged).
    """

    def __init__(
        self,
        model: Any,
        evaluate: Callable[[Any], dict[str, float]],
        metric: str = "rmse",
        patience: int = 0,
    ) -> None:
        self.model = model
        self.evaluate = evaluate
        self.metric = metric
        self.patience = int(patience)
        self.sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
        self.best: float | None = None
        self.best_epoch = 0
        self.best_weights: list[Any] | None = None
        self.waited = 0

    def __call__(self, epoch: int, logs: dict[str, float]) -> bool:
        report = self.evaluate(self.model)
        if self.metric not in report:
            raise JointrecError(
                f"early_stopping_metric={self.metric!r} is not in the validation report: "
                f"expected one of {sorted(report)}"
            )
        for key in ("rmse", "recall@10", "ndcg@10", "recall@100", self.metric):
            if key in report:
                logs[f"val_{key}"] = float(report[key])
        value = self.sign * float(report[self.metric])
        if self.best is None or value < self.best:
            self.best, self.best_epoch, self.waited = value, epoch + 1, 0
            if self.patience > 0:
                self.best_weights = self.model.get_weights()
            return False
        self.waited += 1
        return self.patience > 0 and self.waited >= self.patience

    def checkpoint_state(self) -> tuple[dict[str, Any], list[Any]]:
        """What a training checkpoint must keep so that a resumed run stops where this one
        would: the best score and epoch, the patience used, and the best weights."""
        state = {"best": self.best, "best_epoch": self.best_epoch, "waited": self.waited}
        state["has_best_weights"] = self.best_weights is not None
        return state, list(self.best_weights or [])

    def restore_checkpoint_state(self, state: dict[str, Any], values: list[Any]) -> None:
        """Restores what `checkpoint_state` returned."""
        self.best = None if state.get("best") is None else float(state["best"])
        self.best_epoch = int(state.get("best_epoch", 0))
        self.waited = int(state.get("waited", 0))
        self.best_weights = list(values) if state.get("has_best_weights") else None

    def restore_best(self) -> None:
        """Puts the best epoch's weights back into the model."""
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
