"""Helpers for tests: planted-structure data and tiny MovieLens-layout archives."""

from jointrec.testing.planted import checkerboard
from jointrec.testing.shop import shop_group, write_shop
from jointrec.testing.tiny_movielens import write_tiny_ml100k

__all__ = ["checkerboard", "shop_group", "write_shop", "write_tiny_ml100k"]
