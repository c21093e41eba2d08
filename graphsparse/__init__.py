"""graphsparse: sparsifiers and quality metrics for graphs, built on the sparsebox core."""

from graphsparse.stats import graph_summary

__all__ = ["graph_summary"]
