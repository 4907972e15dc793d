"""Training: in-memory batches and the fit loop."""

from jointrec.training.batches import TrainingArrays, epoch_batches
from jointrec.training.loop import History, fit, make_optimizer

__all__ = ["History", "TrainingArrays", "epoch_batches", "fit", "make_optimizer"]
