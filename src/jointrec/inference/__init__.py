"""Answering queries with one artifact: retrieval indexes, the rating ranker, fold-in of new
users and items, and the `Recommender` that ties them together (NumPy; faiss for HNSW)."""
