"""The multi-task Keras model: towers, the rating head, the two tasks and the joint model.

Every class here is a registered Keras serializable (package ``"jointrec"``), so a saved
``model.keras`` loads once this package is imported (``import jointrec`` arranges that as soon
as Keras itself is imported).

Example:
    >>> from jointrec.model import EmbeddingTower
    >>> EmbeddingTower(10, 4).compute_output_shape((None,))
    (None, 4)
"""

from jointrec.model.accidental_hits import RemoveAccidentalHits
from jointrec.model.build import build_model
from jointrec.model.embedding_tower import EmbeddingTower
from jointrec.model.feature_tower import FeatureTower
from jointrec.model.initializers import HostUniform
from jointrec.model.joint_model import JointModel
from jointrec.model.rating_head import RatingHead
from jointrec.model.rating_task import RatingTask
from jointrec.model.retrieval_task import RetrievalTask

__all__ = [
    "EmbeddingTower",
    "FeatureTower",
    "HostUniform",
    "JointModel",
    "RatingHead",
    "RatingTask",
    "RemoveAccidentalHits",
    "RetrievalTask",
    "build_model",
]
