"""Node classification with PyG models: models and inputs (:mod:`.models`), training with weight
masks and distillation (:mod:`.training`)."""

from graphsparse.gnn.models import (
    MODELS,
    dropout,
    feature_dropout,
    make_model,
    model_inputs,
    prunable_weights,
    sparse_linear,
)
from graphsparse.gnn.training import (
    DISTILL_LAMBDA,
    Scorer,
    TrainResult,
    accuracy,
    distillation_loss,
    ogb_node_scorer,
    train_node_classifier,
)

__all__ = ["MODELS", "DISTILL_LAMBDA", "Scorer", "TrainResult", "accuracy", "distillation_loss",
           "dropout", "feature_dropout", "make_model", "model_inputs", "ogb_node_scorer",
           "prunable_weights", "sparse_linear", "train_node_classifier"]
