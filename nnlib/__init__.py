"""nnlib: the course's reference implementation of every exercise, and what trains with it.

Every exercise of the course lives here under the same name and signature as in the
notebooks (e.g. ``nnlib.affine_backward``); the notebooks plug a student's functions into
``Ops`` and ``MLP`` to train real networks with them. A plugged-in function that is not done
yet or returns something unusable raises ``StudentFunctionError`` naming it (``nnlib.student``).
"""

from .augmentation import random_shift, shift_image
from .batchnorm import batchnorm_backward, batchnorm_forward
from .clipping import clip_by_global_norm, global_norm
from .data import impute_missing, iterate_minibatches, one_hot, standardize, train_val_test_split
from .deep_mlp import mlp_accuracy, mlp_loss, mlp_scores, new_bn_params
from .gradcheck import numeric_gradient, rel_error
from .graph import Value
from .init import glorot_uniform, he_normal, small_normal
from .layers import (
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
    sigmoid,
    sigmoid_backward,
    sigmoid_forward,
)
from .losses import (
    cross_entropy_loss,
    log_softmax,
    mse_loss,
    mse_loss_backward,
    softmax,
    softmax_cross_entropy_backward,
)
from .models import MLP, accuracy, init_mlp, two_layer_net
from .ops import Ops
from .optim import adagrad, adam, adamw, gradient_descent, rmsprop, sgd, sgd_momentum
from .regularization import dropout_backward, dropout_forward, early_stopping, l2_penalty
from .schedules import scheduled, step_decay, warmup_cosine
from .student import StudentFunctionError
from .train import History, train
from .training_loop import train_epoch
from .transfer import extract_features, fine_tune_step, replace_head

EXERCISES = {
    "00_data_preparation": ["impute_missing", "standardize", "one_hot", "train_val_test_split",
                            "iterate_minibatches"],
    "01_loss_functions": ["mse_loss", "softmax", "cross_entropy_loss"],
    "02_chain_rule": ["numeric_gradient", "Value"],
    "03_backpropagation": ["affine_forward", "affine_backward", "relu_forward", "relu_backward",
                           "sigmoid_forward", "sigmoid_backward", "mse_loss_backward",
                           "softmax_cross_entropy_backward", "glorot_uniform", "two_layer_net"],
    "04_optimizers": ["gradient_descent", "sgd", "sgd_momentum", "adagrad", "rmsprop", "adam"],
    "05_regularization": ["dropout_forward", "dropout_backward", "l2_penalty", "early_stopping",
                          "shift_image", "random_shift"],
    "06_transfer_learning": ["extract_features", "replace_head", "fine_tune_step"],
    "07_training_in_practice": ["he_normal", "batchnorm_forward", "batchnorm_backward",
                                "clip_by_global_norm", "warmup_cosine", "adamw", "mlp_loss",
                                "train_epoch"],
}
"""The course's notebooks and, in order, the exercises each one grades."""

EQUIVALENTS = {
    "softmax": ("log_softmax",),
    "cross_entropy_loss": ("log_softmax",),
    "sigmoid_forward": ("sigmoid",),
    "affine_backward": ("affine_param_grads",),
    "glorot_uniform": ("glorot_bound",),
    "shift_image": ("_shift_last_two_axes",),
    "random_shift": ("_shift_last_two_axes",),
    "Value": ("topological_order",),
    "two_layer_net": ("mlp_loss",),
    "adam": ("adamw",),
    "batchnorm_forward": ("batchnorm_train_forward",),
    "clip_by_global_norm": ("global_norm",),
    "mlp_loss": ("_forward", "_backward", "mlp_scores", "hidden_activations", "MLP"),
    "train_epoch": ("run_epoch", "train"),
}
"""Helpers that compute (the heart of) an exercise: withheld with it while it is graded."""

__all__ = [
    "EQUIVALENTS", "EXERCISES", "History", "MLP", "Ops", "StudentFunctionError", "Value",
    "accuracy", "adagrad", "adam", "adamw",
    "affine_backward", "affine_forward", "batchnorm_backward", "batchnorm_forward",
    "clip_by_global_norm", "cross_entropy_loss", "dropout_backward", "dropout_forward",
    "early_stopping", "extract_features", "fine_tune_step", "global_norm", "glorot_uniform",
    "gradient_descent", "he_normal", "impute_missing", "init_mlp", "iterate_minibatches",
    "l2_penalty", "log_softmax", "mlp_accuracy", "mlp_loss", "mlp_scores", "mse_loss",
    "mse_loss_backward", "new_bn_params", "numeric_gradient", "one_hot", "random_shift",
    "rel_error", "relu_backward", "relu_forward", "replace_head", "rmsprop", "scheduled", "sgd",
    "sgd_momentum", "shift_image", "sigmoid", "sigmoid_backward", "sigmoid_forward",
    "small_normal", "softmax", "softmax_cross_entropy_backward", "standardize", "step_decay",
    "train", "train_epoch", "train_val_test_split", "two_layer_net", "warmup_cosine",
]
