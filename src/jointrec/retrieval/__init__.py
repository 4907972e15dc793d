"""Top-k retrieval over the catalogue with seen-item exclusion."""

from jointrec.retrieval.exact import retrieve, top_k_rows
from jointrec.retrieval.seen import SeenItems

__all__ = ["SeenItems", "retrieve", "top_k_rows"]
