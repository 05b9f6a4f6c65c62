"""rnnexp: a catalog of recurrent-network experiments, tracked in MLflow."""

__version__ = "0.1.0"
