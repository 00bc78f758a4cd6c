"""The set of functions a network is built from, so a notebook can swap in a student's own.

``Ops()`` holds nnlib's reference functions; ``Ops(affine_backward=my_affine_backward)`` (or
``ops.replace(...)``) is the same set with one function replaced. Models and the training loop
call only what is in their ``Ops``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from . import layers, losses, regularization


@dataclasses.dataclass(frozen=True)
class Ops:
    affine_forward: Callable = layers.affine_forward
    affine_backward: Callable = layers.affine_backward
    relu_forward: Callable = layers.relu_forward
    relu_backward: Callable = layers.relu_backward
    sigmoid_forward: Callable = layers.sigmoid_forward
    sigmoid_backward: Callable = layers.sigmoid_backward
    dropout_forward: Callable = regularization.dropout_forward
    dropout_backward: Callable = regularization.dropout_backward
    loss: Callable = losses.cross_entropy_loss
    loss_backward: Callable = losses.softmax_cross_entropy_backward
    l2_penalty: Callable = regularization.l2_penalty

    def replace(self, **functions) -> Ops:
        """A copy with the named functions replaced, e.g. ``ops.replace(relu_forward=f)``."""
        return dataclasses.replace(self, **functions)

    def activation(self, name: str):
        """(forward, backward) of the activation called ``name`` ("relu" or "sigmoid")."""
        if name not in ("relu", "sigmoid"):
            raise ValueError(f"unknown activation {name!r}; use 'relu' or 'sigmoid'")
        return getattr(self, f"{name}_forward"), getattr(self, f"{name}_backward")


MSE = {"loss": losses.mse_loss, "loss_backward": losses.mse_loss_backward}
"""Pass as ``Ops(**MSE)`` for regression with a mean-squared-error loss."""
