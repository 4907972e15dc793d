"""Small Keras layers: towers, the rating head and accidental-hit masking."""

from jointrec.layers.accidental_hits import RemoveAccidentalHits
from jointrec.layers.embedding_tower import EmbeddingTower
from jointrec.layers.rating_head import RatingHead

__all__ = ["EmbeddingTower", "RatingHead", "RemoveAccidentalHits"]
