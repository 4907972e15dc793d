"""Training tasks: each owns its loss."""

from jointrec.tasks.rating import RatingTask
from jointrec.tasks.retrieval import RetrievalTask

__all__ = ["RatingTask", "RetrievalTask"]
