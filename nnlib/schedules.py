"""Learning-rate schedules: the learning rate as a function of the step, and an update rule
that follows one.

A schedule here is any ``lr_at(step) -> float`` for steps ``0, 1, ..., total_steps - 1``;
``scheduled(update_rule, lr_at)`` sets ``config["learning_rate"]`` from it before every step.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def warmup_cosine(step: int, total_steps: int, base_lr: float, warmup_steps: int = 0,
                  min_lr: float = 0.0) -> float:
    """Linear warm-up to ``base_lr``, then a half cosine down to ``min_lr``.

    For ``0 <= step < total_steps`` and ``0 <= warmup_steps < total_steps``: while
    ``step < warmup_steps``, ``base_lr * (step + 1) / warmup_steps``; after, with
    ``p = (step - warmup_steps) / max(1, total_steps - 1 - warmup_steps)``,
    ``min_lr + 0.5 * (base_lr - min_lr) * (1 + cos(pi * p))``: ``base_lr`` at
    ``step == warmup_steps``, ``min_lr`` at the last step.
    """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    p = (step - warmup_steps) / max(1, total_steps - 1 - warmup_steps)
    return float(min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * p)))


def step_decay(step: int, base_lr: float, step_size: int, factor: float = 0.1) -> float:
    """``base_lr * factor ** (step // step_size)``: the rate drops by ``factor`` every
    ``step_size`` steps."""
    return float(base_lr * factor ** (step // step_size))


def scheduled(update_rule: Callable, lr_at: Callable[[int], float]) -> Callable:
    """An update rule that runs ``update_rule`` with ``learning_rate = lr_at(step)``.

    Its own step counter lives in ``config["schedule_step"]`` (0 when missing) and goes up by
    one per call, so every parameter array, with its own config, follows the same schedule.
    """

    def rule(w, dw, config=None):
        config = {} if config is None else config
        step = config.get("schedule_step", 0)
        config["learning_rate"] = lr_at(step)
        next_w, config = update_rule(w, dw, config)
        config["schedule_step"] = step + 1
        return next_w, config

    rule.__name__ = f"scheduled_{getattr(update_rule, '__name__', 'rule')}"
    return rule
