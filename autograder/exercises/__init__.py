"""One module of checks per notebook; importing this package registers every check."""

from . import (  # noqa: F401
    backprop,
    chain_rule,
    data,
    losses,
    optimizers,
    regularization,
    training,
    transfer,
)
