"""A trained model as NumPy arrays, and what scores with it: the `Scorer` protocol, top-k
over the catalogue and each user's seen items. Shared by evaluation, artifacts and serving;
NumPy only.

Example:
    >>> import numpy as np
    >>> from jointrec.scoring import top_k_rows
    >>> top_k_rows(np.array([[0.1, 0.9, 0.5]]), 2).tolist()
    [[1, 2]]
"""

from jointrec.scoring.exported import ExportedModel
from jointrec.scoring.scorer import Scorer
from jointrec.scoring.seen import SeenItems
from jointrec.scoring.topk import retrieve, top_k_rows

__all__ = ["ExportedModel", "Scorer", "SeenItems", "retrieve", "top_k_rows"]
