"""One module of checks per notebook; importing this package registers every check."""

from . import backprop, chain_rule, data, losses, optimizers, regularization, transfer  # noqa: F401
