"""Helpers for tests: planted-structure data and tiny MovieLens-layout archives."""

from jointrec.testing.planted import checkerboard
from jointrec.testing.tiny_movielens import write_tiny_ml100k

__all__ = ["checkerboard", "write_tiny_ml100k"]
