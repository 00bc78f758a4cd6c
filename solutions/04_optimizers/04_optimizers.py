# %% [markdown]
# # 04 Gradient descent and optimizers
#
# Backpropagation (notebook 03) tells us, for every parameter, which way is *uphill*: the
# gradient of the loss. This notebook is about what to do with that information: how far to
# step, and how to use the gradients of earlier steps to step better. The rule that turns a
# gradient into a parameter update is called the **optimizer**, and it decides whether a network
# trains in seconds, in hours, or not at all.
#
# By the end of this notebook you will be able to
#
# - run **gradient descent** and choose a **learning rate**: see why a rate that is too small
#   crawls and one that is too large *diverges*, and where the border lies;
# - explain why **mini-batch SGD** is noisy, and why that noise is a price worth paying;
# - see why plain gradient descent is slow on **ill-conditioned** surfaces (long narrow
#   valleys), and fix it with **momentum**;
# - give every parameter its own step size with **AdaGrad**, see why its steps shrink for ever
#   and how **RMSProp** fixes that, and combine RMSProp with momentum in
#   **Adam**, including its **bias correction**;
# - write all of them against one small contract, race them on the same loss surface, and
#   train a real network with each of your optimizers.
#
# | exercise | points |
# |---|---|
# | `gradient_descent` | 15 |
# | `sgd` | 10 |
# | `sgd_momentum` | 20 |
# | `adagrad` | 10 |
# | `rmsprop` | 20 |
# | `adam` | 25 |
#
# Run the cells from top to bottom. Before each exercise the pictures use `nnlib`'s reference
# implementation of the same function; after it, the notebook uses *yours*.

# %% nbgrader={"grade_id": "setup", "locked": true}
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

import nnlib
from autograder import check
from nnlib import plots
from nnlib.datasets import load_digits, make_regression_1d
from nnlib.widgets import float_slider, log_slider, slider_panel

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Gradient descent and the learning rate
#
# The gradient $\nabla L(w)$ points in the direction in which the loss $L$ grows fastest. To
# make the loss smaller we take a small step the other way, and repeat:
#
# $$
# w_{t+1} \;=\; w_t - \eta\, \nabla L(w_t), \qquad t = 0, 1, 2, \dots
# $$
#
# The step size $\eta$ (eta) is the **learning rate**. It is the most important number in
# training, and the gradient alone cannot tell us what it should be.
#
# The simplest loss shows everything. Take one parameter and $L(w) = w^2$, so $L'(w) = 2w$ and
# one step is
#
# $$
# w_{t+1} = w_t - \eta \cdot 2 w_t = (1 - 2\eta)\, w_t
# \qquad\Longrightarrow\qquad w_t = (1 - 2\eta)^t\, w_0 .
# $$
#
# Every step multiplies $w$ by the same factor $1 - 2\eta$, so everything depends on that factor:
#
# | learning rate | factor $1-2\eta$ | what happens |
# |---|---|---|
# | $0 < \eta < 0.5$ | between 0 and 1 | $w$ shrinks towards the minimum 0, from one side; slowly if $\eta$ is tiny |
# | $\eta = 0.5$ | 0 | the minimum in one step (only because this loss is so simple) |
# | $0.5 < \eta < 1$ | between -1 and 0 | $w$ jumps across the minimum every step, but still shrinks |
# | $\eta = 1$ | -1 | $w$ bounces between $w_0$ and $-w_0$ forever |
# | $\eta > 1$ | below -1 | every jump lands *further* away: the iterates **diverge** |
#
# For a steeper parabola $L(w) = \tfrac{a}{2} w^2$ the factor is $1 - \eta a$, and the border
# of divergence is $\eta < 2/a$: **the more curved the loss, the smaller the learning rate must
# be.** The curvature $a$ (the second derivative) is what sets the scale, and a network's loss
# has a different curvature in every direction, which is where the later sections come in.
#
# The picture shows the three regimes on $L(w) = w^2$ from $w_0 = 2$: too small, about right,
# too large.

# %%
def parabola(w):
    return w ** 2


def parabola_grad(w):
    return 2 * w


w_axis = np.linspace(-3, 3, 200)
regimes = [(0.05, "too small: crawls"), (0.3, "about right"), (1.05, "too large: diverges")]

fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
for ax, (lr, name) in zip(axes, regimes):
    path = nnlib.gradient_descent(parabola_grad, np.array([2.0]), lr, 12)[:, 0]
    ax.plot(w_axis, parabola(w_axis), color="0.6")
    ax.plot(path, parabola(path), "o-", color="C3", ms=4, lw=1)
    ax.plot(path[0], parabola(path[0]), "o", color="C3", mfc="white", ms=8)
    ax.set(xlim=(-3, 3), ylim=(-0.3, 9), xlabel="w", title=rf"$\eta = {lr}$: {name}")
    axes[3].semilogy(parabola(path), "o-", ms=3, label=rf"$\eta = {lr}$")
axes[0].set_ylabel("L(w) = w²")
axes[3].set(xlabel="step t", ylabel="loss (log scale)", title="Loss per step")
axes[3].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the right-hand plot on its log scale: a straight line going down means the loss shrinks
# by the same factor every step (fast, *linear* convergence in optimization jargon); a straight
# line going up means it grows by the same factor (divergence). Too small a rate is not wrong,
# just wasteful; too large a rate is fatal.
#
# ### Worked example
#
# $L(w) = w^2$, $w_0 = 2$, $\eta = 0.1$:
#
# | $t$ | $w_t$ | gradient $2 w_t$ | $w_{t+1} = w_t - 0.1 \cdot 2 w_t$ |
# |---|---|---|---|
# | 0 | 2.0 | 4.0 | $2.0 - 0.4 = 1.6$ |
# | 1 | 1.6 | 3.2 | $1.6 - 0.32 = 1.28$ |
# | 2 | 1.28 | 2.56 | $1.28 - 0.256 = 1.024$ |
#
# Each step multiplies $w$ by $1 - 2 \cdot 0.1 = 0.8$. With `num_steps=3` the function below
# returns all four points, $w_0$ included, as an array of shape `(4, 1)` (the parameter here is
# an array of shape `(1,)`):

# %%
print(nnlib.gradient_descent(parabola_grad, np.array([2.0]), 0.1, 3))

# %% [markdown]
# ### Exercise 1: `gradient_descent` (15 points)
#
# Run `num_steps` steps of $w \leftarrow w - \eta\, \nabla L(w)$ from `w0` and return **every
# iterate**, `w0` first, stacked into one array of shape `(num_steps + 1, *w0.shape)`.
# `grad_fn(w)` returns the gradient, an array shaped like `w`. `w0` must not change. About 6
# lines. Open a hint only when you are stuck; each says a little more than the one before.
#
# <details><summary>Hint 1: what to keep track of</summary>
#
# Two things: the current point, and the list of every point so far. The list starts with the
# starting point itself, and every step adds one more, so after `num_steps` steps it holds
# `num_steps + 1` points.
#
# </details>
#
# <details><summary>Hint 2: new arrays, not changed ones</summary>
#
# `w -= ...` changes the array `w` in place: every entry of your list that *is* that array
# changes with it (and if `w` is `w0` itself, so does the caller's `w0`). `w = w - ...` makes a
# new array and leaves the old one alone. Start from a float copy of `w0`
# (`np.array(w0, dtype=float)`), so that an integer `w0` still gives a float path.
#
# </details>
#
# <details><summary>Hint 3: from a list to one array</summary>
#
# `np.stack(list_of_arrays)` puts arrays of equal shape `S` on top of each other into one array
# of shape `(len(list_of_arrays), *S)`.
#
# </details>

# %% nbgrader={"grade_id": "gradient_descent", "solution": true}
def gradient_descent(grad_fn, w0, learning_rate, num_steps):
    """Plain gradient descent, returning the whole path.

    grad_fn: function w -> gradient of the loss at w (an array shaped like w).
    w0: the starting point, an array of any shape, e.g. (2,).
    learning_rate: the step size eta (float); num_steps: how many steps (int >= 0).
    Returns an array of shape (num_steps + 1, *w0.shape): row 0 is w0, row t the point after
    t steps of gradient descent. w0 is not modified.
    """
    ### BEGIN SOLUTION
    w = np.array(w0, dtype=float, copy=True)
    path = [w.copy()]
    for _ in range(num_steps):
        w = w - learning_rate * np.asarray(grad_fn(w), dtype=float)
        path.append(w.copy())
    return np.stack(path)
    ### END SOLUTION


# %%
print(gradient_descent(parabola_grad, np.array([2.0]), 0.1, 3))

# %% nbgrader={"grade_id": "test_gradient_descent", "grade": true, "points": 15}
check("gradient_descent", gradient_descent)
### BEGIN HIDDEN TESTS
check("gradient_descent", gradient_descent, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Explore: the learning rate
#
# Your `gradient_descent` on $L(w) = w^2$ from $w_0 = 2$, 30 steps. The slider is logarithmic:
# each notch multiplies the learning rate by the same factor, because what matters is its
# order of magnitude.
#
# - From $10^{-3}$ to $0.5$ the path gets faster; near $\eta = 0.5$ it lands on the minimum
#   at once.
# - Between 0.5 and 1 it zig-zags across the minimum and still converges.
# - Above 1 the loss curve on the right turns upwards: divergence. Find the exact border.

# %%
LR_STEPS = 30
LR_FIGSIZE = (10, 3.4)


def draw_learning_rate_background(fig):
    """What never changes: the parabola, the axes, their labels (drawn once, see below)."""
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(w_axis, parabola(w_axis), color="0.6")
    ax1.set(xlim=(-3, 3), ylim=(-0.3, 9), xlabel="w", ylabel="L(w) = w²",
            title=f"{LR_STEPS} steps of gradient descent")
    ax2.set(yscale="log", xlim=(-1, LR_STEPS + 1), ylim=(1e-12, 1e8), xlabel="step t",
            ylabel="loss (log scale)", title="Loss per step")
    fig.tight_layout()


# The panel redraws only the path; the rest is rendered once into a picture (fast updates).
lr_background = plots.render_static_layer(draw_learning_rate_background, LR_FIGSIZE)


def draw_learning_rate(fig, learning_rate):
    path = gradient_descent(parabola_grad, np.array([2.0]), learning_rate, LR_STEPS)[:, 0]
    ax1, ax2 = plots.add_static_layer(fig, lr_background)
    ax1.plot(path, parabola(path), "o-", color="C3", ms=3, lw=0.8)
    ax1.plot(path[0], parabola(path[0]), "o", color="C3", mfc="white", ms=8)
    ax2.plot(np.maximum(parabola(path), 1e-300), "o-", color="C3", ms=3)
    factor = 1 - 2 * learning_rate
    if abs(factor) < 1e-9:
        verdict = "the minimum in one step"
    elif abs(factor) < 1:
        verdict = "converges" + (" (zig-zagging)" if factor < 0 else "")
    elif abs(factor) == 1:
        verdict = "bounces forever"
    else:
        verdict = "DIVERGES"
    return (f"learning rate {learning_rate:.3g}: each step multiplies w by 1 - 2*eta = "
            f"{factor:+.3f}, so {verdict}; after {LR_STEPS} steps w = {path[-1]:.3g}, "
            f"loss {parabola(path[-1]):.3g}")


lr_panel = slider_panel(draw_learning_rate,
                        {"learning_rate": log_slider("learning rate", 0.05, -3, 0.2, 0.05)},
                        figsize=LR_FIGSIZE, title="Gradient descent on L(w) = w²")
lr_panel

# %% [markdown]
# ## 2. Mini-batches: stochastic gradient descent
#
# In machine learning the loss is an average over the $N$ training examples,
# $L(w) = \frac1N \sum_{i=1}^N \ell_i(w)$, so its gradient is an average of $N$ per-example
# gradients. With $N$ in the millions, one exact gradient costs a pass over the whole data set.
# **Stochastic gradient descent (SGD)** instead estimates the gradient from a random
# **mini-batch** $B$ of a few dozen examples:
#
# $$
# g_B(w) = \frac{1}{|B|} \sum_{i \in B} \nabla \ell_i(w), \qquad
# w \leftarrow w - \eta\, g_B(w).
# $$
#
# On average over the random choice of batch, $g_B$ equals the true gradient (it is
# *unbiased*), but each single estimate is off by some noise whose variance shrinks like
# $1/|B|$. So SGD trades exact, expensive steps for cheap, noisy ones; one pass over the data
# (an **epoch**) gives $N/|B|$ steps instead of one. You met mini-batches in notebook 00
# (`iterate_minibatches`); here we watch what the noise does to the *path*.
#
# The smallest real example: fit a straight line $\hat y = w_1 x + w_2$ to 200 noisy points of a
# sine curve with the mean squared error. With two parameters the loss is a surface over the
# $(w_1, w_2)$ plane that we can draw as contour lines (lines of equal loss, like a map of a
# valley). The gradient of the MSE with respect to the two parameters is
#
# $$
# \frac{\partial L}{\partial w_1} = \frac{2}{N}\sum_i (w_1 x_i + w_2 - y_i)\, x_i, \qquad
# \frac{\partial L}{\partial w_2} = \frac{2}{N}\sum_i (w_1 x_i + w_2 - y_i).
# $$
#
# Each path below takes 60 steps with the same learning rate; only the batch size differs.

# %%
rng = np.random.default_rng(1)
x_line, y_line = make_regression_1d(200, noise=0.3, rng=rng)
x_line, y_line = x_line[:, 0], y_line[:, 0]            # (200,) each
design = np.column_stack([x_line, np.ones_like(x_line)])
w_line_best = np.linalg.lstsq(design, y_line, rcond=None)[0]


def line_loss(w):
    """MSE of the line w[0] * x + w[1]; w may be (2,) or (2, ...) for a whole grid."""
    pred = w[0][..., None] * x_line + w[1][..., None]
    return np.mean((pred - y_line) ** 2, axis=-1)


def line_grad(w, x, y):
    """Gradient of the MSE of the line w[0] * x + w[1] on the points (x, y); shape (2,)."""
    residual = w[0] * x + w[1] - y
    return np.array([2 * np.mean(residual * x), 2 * np.mean(residual)])


def line_sgd_path(batch_size, learning_rate, num_steps, rng):
    """num_steps of mini-batch SGD on the line fit, batches from nnlib.iterate_minibatches."""
    w = np.array([-1.2, 1.4])
    path = [w]
    while len(path) <= num_steps:                      # one epoch per pass of the loop
        for x_batch, y_batch in nnlib.iterate_minibatches(x_line, y_line, batch_size, rng):
            w = w - learning_rate * line_grad(w, x_batch, y_batch)
            path.append(w)
            if len(path) > num_steps:
                break
    return np.array(path)


line_grid = plots.loss_surface_grid(line_loss, (-1.6, 1.6), (-1.0, 1.6), 120)
batch_paths = {"full batch (all 200)": line_sgd_path(200, 0.1, 60, np.random.default_rng(2)),
               "batch size 20": line_sgd_path(20, 0.1, 60, np.random.default_rng(2)),
               "batch size 2": line_sgd_path(2, 0.1, 60, np.random.default_rng(2))}

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
best_loss = line_loss(w_line_best)
plots.plot_loss_contours(ax1, line_grid, levels=best_loss + np.geomspace(0.01, 8, 12),
                         minimum=w_line_best)
plots.plot_optimizer_paths(ax1, batch_paths)
ax1.set(xlabel="slope $w_1$", ylabel="intercept $w_2$", title="60 steps, learning rate 0.1")
for i, (name, path) in enumerate(batch_paths.items()):
    ax2.semilogy(line_loss(path.T) - best_loss, color=f"C{i}", label=name)
ax2.set(xlabel="step", ylabel="loss minus best loss (log)",
        title="Full-data loss along each path")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# All three head for the star (the best line); the full-batch path is smooth, the mini-batch
# paths wobble, and batch size 2 wobbles most. Note two things:
#
# - **Per step**, the noisy paths make almost the same progress at first, but a step with
#   batch size 2 costs 100 times less computation than a full-batch step. Per unit of
#   computation, small batches win by far; that is why every network is trained with SGD.
# - **Near the minimum**, the noise does not go away: the gradient estimate of a small batch is
#   not zero even at the best point, so the path keeps jittering around it. That is why the
#   learning rate is often lowered late in training (a *learning-rate schedule*).
#
# ## 3. Update rules: one step at a time
#
# `gradient_descent` above owns the whole loop. In a real network the loop belongs to the
# training code (`nnlib.train`), which computes the gradients of every parameter array (`W1`,
# `b1`, `W2`, ...) on a mini-batch and then asks an **update rule** to make one step for each.
# Every optimizer in this notebook has the same contract:
#
# ```python
# next_w, config = update_rule(w, dw, config)
# ```
#
# - `w`: the current parameter array, `dw`: the gradient of the loss with respect to it (same
#   shape). `w` itself must not be changed: return a new array.
# - `config`: a dict with the hyperparameters (`learning_rate`, ...) **and the optimizer's
#   memory** (for example a velocity). It may be `None` or miss keys: then the defaults are
#   used (`config.setdefault("learning_rate", 1e-2)` fills a key only if it is missing).
#   The rule returns the updated `config`, and the caller passes it back in on the next step.
#   `nnlib.train` keeps one config per parameter array, so each array has its own memory.
#
# The loop that drives an update rule is short. This is it for a 2-D toy loss (and, per
# parameter array, what `nnlib.train` does for a network):

# %%
def run_optimizer(update_rule, grad_fn, w0, config, num_steps):
    """Iterates (num_steps + 1, *w0.shape) of update_rule on grad_fn, starting from w0."""
    w, config = np.array(w0, dtype=float), dict(config)   # a fresh config: fresh memory
    path = [w]
    for _ in range(num_steps):
        w, config = update_rule(w, grad_fn(w), config)
        path.append(w)
    return np.array(path)


# %% [markdown]
# The simplest update rule is the SGD step itself, $w \leftarrow w - \eta\, dw$; it has no
# memory, only a learning rate.
#
# ### Worked example
#
# `w = [1.0, -2.0]`, `dw = [0.5, -1.0]`, `config = {"learning_rate": 0.1}`:
# `next_w = [1.0 - 0.05, -2.0 + 0.1] = [0.95, -1.9]`, and the returned config is the same
# dict. With `config=None` the default learning rate 0.01 is used:
# `next_w = [0.995, -1.99]`, config `{"learning_rate": 0.01}`.

# %%
w_example = np.array([1.0, -2.0])
dw_example = np.array([0.5, -1.0])
print(nnlib.sgd(w_example, dw_example, {"learning_rate": 0.1}))
print(nnlib.sgd(w_example, dw_example))

# %% [markdown]
# ### Exercise 2: `sgd` (10 points)
#
# The update rule for $w \leftarrow w - \eta\, dw$, in the contract above: `config` may be
# `None` or lack `"learning_rate"` (default `1e-2`); return the new array and the config with
# its default filled in. About 3 lines.
#
# <details><summary>Hint 1: two jobs</summary>
#
# First make sure you have a dict with a learning rate in it, then take the step. Returning two
# things is returning a tuple: `return a, b`.
#
# </details>
#
# <details><summary>Hint 2: the dict</summary>
#
# A conditional expression, `a if condition else b`, turns `None` into an empty dict (`{}`)
# and keeps a dict the caller gave, in one line. Then `setdefault`, as in the contract above,
# adds the learning rate only when it is missing, so a rate the caller chose is kept.
#
# </details>

# %% nbgrader={"grade_id": "sgd", "solution": true}
def sgd(w, dw, config=None):
    """One step of (stochastic) gradient descent.

    w: parameter array (any shape); dw: gradient of the loss w.r.t. w (same shape).
    config: dict with "learning_rate" (default 1e-2), or None.
    Returns (next_w, config): next_w, shaped like w, is w after one step of size
    learning_rate against dw (a new array; w unchanged); config is the dict with its default
    filled in.
    """
    ### BEGIN SOLUTION
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config
    ### END SOLUTION


# %%
print(sgd(w_example, dw_example, {"learning_rate": 0.1}))
print(sgd(w_example, dw_example))

# %% nbgrader={"grade_id": "test_sgd", "grade": true, "points": 10}
check("sgd", sgd)
### BEGIN HIDDEN TESTS
check("sgd", sgd, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Long narrow valleys, and momentum
#
# The learning rate is limited by the *steepest* direction of the loss (Section 1:
# $\eta < 2/a$), but the progress is limited by the *flattest* one. When the two differ a lot,
# gradient descent is slow. Take the two-parameter loss
#
# $$
# L(w) = \tfrac12 \left( w_1^2 + 20\, w_2^2 \right), \qquad
# \nabla L(w) = \begin{pmatrix} w_1 \\ 20\, w_2 \end{pmatrix}.
# $$
#
# Its contour lines are ellipses $\sqrt{20} \approx 4.5$ times longer than wide: a long narrow
# valley. Each coordinate is its own 1-D problem: $w_2$ (curvature 20) needs
# $\eta < 2/20 = 0.1$, and with such an $\eta$ the coordinate $w_1$ (curvature 1) is multiplied
# by $1 - \eta > 0.9$ per step, so it keeps more than 90 % of its distance to the minimum
# every step: dozens of steps to get anywhere. The ratio of the largest to the smallest
# curvature (here 20) is the **condition number**; the number of steps gradient descent needs
# grows in proportion to it, and the loss surfaces of networks are badly conditioned.
#
# Below, your `gradient_descent` with two learning rates: the larger one zig-zags across the
# valley (the factor for $w_2$ is $1 - 0.09 \cdot 20 = -0.8$), the smaller one does not zig-zag
# but crawls along the valley floor.

# %%
CURVATURE = np.array([1.0, 20.0])
W_START = np.array([-4.5, 2.0])


def valley(w):
    """The ill-conditioned quadratic 0.5 * (w1^2 + 20 w2^2); w is (2,) or (2, ...)."""
    return 0.5 * (CURVATURE[0] * w[0] ** 2 + CURVATURE[1] * w[1] ** 2)


def valley_grad(w):
    return CURVATURE * w


valley_grid = plots.loss_surface_grid(valley, (-5, 5), (-2.5, 2.5), 120)
VALLEY_LEVELS = np.geomspace(0.01, 60, 14)

gd_paths = {"gradient descent, lr 0.09": gradient_descent(valley_grad, W_START, 0.09, 40),
            "gradient descent, lr 0.03": gradient_descent(valley_grad, W_START, 0.03, 40)}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1.6, 1]})
plots.plot_loss_contours(ax1, valley_grid, levels=VALLEY_LEVELS, minimum=(0, 0))
plots.plot_optimizer_paths(ax1, gd_paths, legend_loc="lower right")
ax1.set(aspect="equal", title="40 steps on a long narrow valley")
for i, (name, path) in enumerate(gd_paths.items()):
    ax2.semilogy(valley(path.T), color=f"C{i}", label=name)
ax2.set(xlabel="step", ylabel="loss (log scale)", title="Loss per step")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# **Momentum** borrows from physics: think of a heavy ball rolling down the valley. Its
# velocity $v$ remembers past gradients, and the position moves by the velocity:
#
# $$
# v \leftarrow \mu\, v - \eta\, \nabla L(w), \qquad w \leftarrow w + v .
# $$
#
# The momentum coefficient $\mu \in [0, 1)$ (typically 0.9) is how much velocity survives
# each step; $1 - \mu$ acts like friction. Two effects:
#
# - Along the valley floor the gradient keeps pointing the same way, so the velocity builds up.
#   With a constant gradient $g$ it approaches $v = -\eta g / (1 - \mu)$: with $\mu = 0.9$,
#   steps **10 times** larger than plain gradient descent.
# - Across the valley the gradient flips sign every step, so successive contributions cancel in
#   $v$ and the zig-zag is damped.
#
# With $\mu = 0$ this is plain SGD again.
#
# ### Worked example
#
# One parameter, $w = 1.0$, $\eta = 0.1$, $\mu = 0.9$, velocity starting at 0, and suppose the
# gradient is $0.5$ at every step:
#
# | step | $v \leftarrow 0.9\, v - 0.1 \cdot 0.5$ | $w \leftarrow w + v$ |
# |---|---|---|
# | 1 | $0 - 0.05 = -0.05$ | $0.95$ |
# | 2 | $-0.045 - 0.05 = -0.095$ | $0.855$ |
# | 3 | $-0.0855 - 0.05 = -0.1355$ | $0.7195$ |
#
# The steps grow: 0.05, 0.095, 0.1355, ... towards $0.05 / (1 - 0.9) = 0.5$. The velocity lives
# in `config["velocity"]` (zeros like `w` the first time) and is returned with the new `w`:

# %%
config = {"learning_rate": 0.1, "momentum": 0.9}
w_demo = np.array([1.0])
for step in range(1, 4):
    w_demo, config = nnlib.sgd_momentum(w_demo, np.array([0.5]), config)
    print(f"step {step}: w = {w_demo}, velocity = {config['velocity']}")

# %% [markdown]
# ### Exercise 3: `sgd_momentum` (20 points)
#
# One step of the momentum update above. Defaults: `learning_rate=1e-2`, `momentum=0.9`; the
# state is the velocity, `config["velocity"]`, an array shaped like `w` that is zeros when it
# is not in `config` yet. Return the new `w` and the config holding the new velocity. About 8
# lines.
#
# <details><summary>Hint 1: the shape of every update rule with memory</summary>
#
# Fill in the defaults; read the state from `config`; compute the new state from the old state
# and `dw`; compute the new `w` from the new state; write the new state back into `config`;
# return. `rmsprop` and `adam` below follow the same plan.
#
# </details>
#
# <details><summary>Hint 2: the first call</summary>
#
# `config.get("velocity")` returns `None` when the key is missing (where `config["velocity"]`
# would raise a `KeyError`). In that case start from `np.zeros_like(w, dtype=float)`.
#
# </details>
#
# <details><summary>Hint 3: the order</summary>
#
# The position moves by the **new** velocity: update $v$ first, with the old $v$ and `dw`, then
# $w$. Check yourself on the worked example: the first step must give `w = [0.95]`, velocity
# `[-0.05]`.
#
# </details>

# %% nbgrader={"grade_id": "sgd_momentum", "solution": true}
def sgd_momentum(w, dw, config=None):
    """One step of SGD with momentum.

    w: parameter array (any shape); dw: gradient w.r.t. w (same shape).
    config: dict or None; keys "learning_rate" (default 1e-2), "momentum" (default 0.9) and
    "velocity" (the state: an array shaped like w, zeros when missing).
    Returns (next_w, config): next_w shaped like w, one momentum step from w; config with
    the defaults filled in and the new velocity in config["velocity"]. w is not modified.
    """
    ### BEGIN SOLUTION
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity")
    if v is None:
        v = np.zeros_like(w, dtype=float)
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config
    ### END SOLUTION


# %%
config = {"learning_rate": 0.1, "momentum": 0.9}
w_demo = np.array([1.0])
for step in range(1, 4):
    w_demo, config = sgd_momentum(w_demo, np.array([0.5]), config)
    print(f"step {step}: w = {w_demo}, velocity = {config['velocity']}")

# %% nbgrader={"grade_id": "test_sgd_momentum", "grade": true, "points": 20}
check("sgd_momentum", sgd_momentum)
### BEGIN HIDDEN TESTS
check("sgd_momentum", sgd_momentum, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Explore: momentum
#
# Your `sgd_momentum` on the narrow valley, 60 steps from the same start. The grey curve on the
# right is plain gradient descent ($\mu = 0$) with the same learning rate, for comparison.
#
# - Learning rate 0.03: $\mu = 0$ crawls; raise $\mu$ and watch the path speed up along the
#   valley. The line above the panel names the momentum that ends closest to the minimum
#   (your `sgd_momentum`, every $\mu$ from 0 to 0.99 tried).
# - $\mu$ close to 1: too little friction; the ball overshoots and circles around the minimum
#   for a long time.
# - A learning rate above 0.1 diverges without momentum; with momentum the border is
#   $\eta < 2(1 + \mu)/20$ — but by then the path oscillates wildly.

# %%
MOMENTUM_STEPS = 60
VALLEY_FIGSIZE = (10, 3.8)


def draw_valley_background(fig, steps, loss_range, title):
    """Contours of the valley on the left, empty log-scale loss axes on the right."""
    ax1 = fig.add_axes((0.06, 0.14, 0.52, 0.76))
    ax2 = fig.add_axes((0.68, 0.14, 0.30, 0.76))
    plots.plot_loss_contours(ax1, valley_grid, levels=VALLEY_LEVELS, minimum=(0, 0))
    ax1.set(aspect="equal", title=title)
    ax2.set(yscale="log", xlim=(-1, steps + 1), ylim=loss_range, xlabel="step",
            ylabel="loss (log scale)", title="Loss per step")


momentum_background = plots.render_static_layer(
    lambda fig: draw_valley_background(fig, MOMENTUM_STEPS, (1e-8, 1e4),
                                       f"{MOMENTUM_STEPS} steps of your sgd_momentum"),
    VALLEY_FIGSIZE)


def draw_momentum(fig, momentum, learning_rate):
    config = {"learning_rate": learning_rate, "momentum": momentum}
    path = run_optimizer(sgd_momentum, valley_grad, W_START, config, MOMENTUM_STEPS)
    plain = run_optimizer(sgd_momentum, valley_grad, W_START, dict(config, momentum=0.0),
                          MOMENTUM_STEPS)
    ax1, ax2 = plots.add_static_layer(fig, momentum_background)
    plots.plot_optimizer_paths(ax1, {f"momentum {momentum:.2f}, lr {learning_rate:.3g}": path},
                               colors=["C3"], legend_loc="lower right")
    ax2.plot(np.maximum(valley(plain.T), 1e-30), color="0.6", label="momentum 0 (plain)")
    ax2.plot(np.maximum(valley(path.T), 1e-30), color="C3", label=f"momentum {momentum:.2f}")
    ax2.legend(fontsize=8, loc="lower left")
    return (f"momentum {momentum:.2f}, learning rate {learning_rate:.3g}: loss after "
            f"{MOMENTUM_STEPS} steps {valley(path[-1]):.3g} (plain gradient descent "
            f"{valley(plain[-1]):.3g}); steady-slope speed-up 1/(1 - momentum) = "
            f"{1 / (1 - momentum):.1f}x")


momentum_scan = np.round(np.arange(0.0, 1.0, 0.01), 2)
scan_losses = [valley(run_optimizer(sgd_momentum, valley_grad, W_START,
                                    {"learning_rate": 0.03, "momentum": mu}, MOMENTUM_STEPS)[-1])
               for mu in momentum_scan]
best_mu = momentum_scan[int(np.argmin(scan_losses))]
print(f"learning rate 0.03, {MOMENTUM_STEPS} steps: the lowest final loss, "
      f"{min(scan_losses):.2g}, is reached with momentum {best_mu:.2f} "
      f"(plain gradient descent: {scan_losses[0]:.2g})")

momentum_panel = slider_panel(
    draw_momentum,
    {"momentum": float_slider("momentum μ", 0.6, 0.0, 0.99, 0.01, readout_format=".2f"),
     "learning_rate": log_slider("learning rate", 0.03, -3, -0.7, 0.05)},
    figsize=VALLEY_FIGSIZE, title="SGD with momentum on a narrow valley")
momentum_panel

# %% [markdown]
# ## 5. A step size for every parameter: AdaGrad and RMSProp
#
# Momentum still uses one learning rate for all parameters, and that rate has to suit the
# steepest direction. In the valley the gradient of $w_2$ is 20 times larger than that of $w_1$
# at the same distance from the minimum. What if each parameter's step were divided by the
# typical size of *its own* gradients?
#
# **AdaGrad** (Duchi, Hazan and Singer, 2011) does exactly that. Per parameter it keeps a
# **cache**, the sum of the squares of all its gradients so far, and divides the step by the
# square root of that sum:
#
# $$
# s \leftarrow s + (dw)^2, \qquad w \leftarrow w - \eta\, \frac{dw}{\sqrt{s} + \varepsilon} .
# $$
#
# Everything is elementwise ($s$ has the shape of $w$, and starts at zeros). At the first step
# $\sqrt s = |dw|$, so *every* parameter moves by $\eta$, whatever the size of its gradient: the
# steep $w_2$ and the flat $w_1$ alike. But the cache only ever grows. For a gradient that stays
# the same, $g$ at every step, after $t$ steps $s = t g^2$ and the step is
# $\eta\, g / (\sqrt t\, |g|) = \eta / \sqrt t$: ever smaller, whether or not the parameter is
# near a minimum. The tiny $\varepsilon = 10^{-8}$ only prevents a division by zero.
#
# The picture: AdaGrad with $\eta = 0.5$ on the valley. The first step goes diagonally (both
# coordinates move by $\eta$), and then the steps shrink (right), at least as fast as they
# would for a gradient that never changed, $\eta\sqrt2 / \sqrt t$ for the two coordinates
# together: here the gradients shrink too, as the path nears the minimum.

# %%
adagrad_path = run_optimizer(nnlib.adagrad, valley_grad, W_START, {"learning_rate": 0.5}, 60)
adagrad_steps = np.linalg.norm(np.diff(adagrad_path, axis=0), axis=1)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1.6, 1]})
plots.plot_loss_contours(ax1, valley_grid, levels=VALLEY_LEVELS, minimum=(0, 0))
plots.plot_optimizer_paths(ax1, {"AdaGrad, lr 0.5": adagrad_path}, legend_loc="lower right")
ax1.set(aspect="equal", title="60 steps of AdaGrad on the narrow valley")
t_steps = np.arange(1, 61)
ax2.loglog(t_steps, adagrad_steps, "o-", ms=3, label="AdaGrad's step length")
ax2.loglog(t_steps, 0.5 * np.sqrt(2) / np.sqrt(t_steps), ":", color="0.4",
           label="η √2 / √t (a constant gradient)")
ax2.set(xlabel="step t (log)", ylabel="length of the step (log)", title="Steps that shrink")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"after 60 steps: w = ({adagrad_path[-1, 0]:.3f}, {adagrad_path[-1, 1]:.2g}), "
      f"loss {valley(adagrad_path[-1]):.3g}, last step {adagrad_steps[-1]:.3g}")

# %% [markdown]
# ### Worked example
#
# `dw = [0.1, 10.0]` twice in a row, `w = [1.0, 1.0]`, $\eta = 0.01$, the cache starting at zero:
#
# - step 1: $s = [0.01, 100]$, $\sqrt s = [0.1, 10]$, the step is $0.01 \cdot [0.1 / 0.1,\
#   10 / 10] = [0.01, 0.01]$: the same for both parameters, though their gradients differ by a
#   factor of 100;
# - step 2, the same gradient: $s = [0.02, 200]$, $\sqrt s = [0.1414, 14.14]$, the step is
#   $[0.00707, 0.00707]$, smaller by $1/\sqrt 2$.

# %%
w_ada, ada_config = nnlib.adagrad(np.array([1.0, 1.0]), np.array([0.1, 10.0]),
                                  {"learning_rate": 0.01})
print("after step 1:", w_ada, " cache", ada_config["cache"])
w_ada, ada_config = nnlib.adagrad(w_ada, np.array([0.1, 10.0]), ada_config)
print("after step 2:", w_ada, " cache", ada_config["cache"])

# %% [markdown]
# ### Exercise 4: `adagrad` (10 points)
#
# Defaults: `learning_rate=1e-2`, `epsilon=1e-8`, and `cache` = zeros like `w` when missing.
# Update `cache = cache + dw**2`, then `next_w = w - learning_rate * dw / (np.sqrt(cache) +
# epsilon)`; store the new cache in `config["cache"]`.

# %% nbgrader={"grade_id": "adagrad", "solution": true}
def adagrad(w, dw, config=None):
    """One step of AdaGrad.

    w: parameter array (any shape); dw: gradient w.r.t. w (same shape).
    config: dict or None; keys "learning_rate" (1e-2), "epsilon" (1e-8) and the state "cache"
    (shaped like w, zeros when missing).
    Returns (next_w, config): cache = cache + dw**2;
    next_w = w - learning_rate * dw / (sqrt(cache) + epsilon); the new cache in
    config["cache"]. w is not modified.

    Hint: like sgd_momentum, with a cache instead of a velocity (about 9 lines).
    """
    ### BEGIN SOLUTION
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = np.zeros_like(w, dtype=float)
    cache = cache + dw * dw
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config
    ### END SOLUTION


# %%
w_ada, ada_config = adagrad(np.array([1.0, 1.0]), np.array([0.1, 10.0]), {"learning_rate": 0.01})
w_ada, ada_config = adagrad(w_ada, np.array([0.1, 10.0]), ada_config)
print("your adagrad, after step 2:", w_ada, " cache", ada_config["cache"])

# %% nbgrader={"grade_id": "test_adagrad", "grade": true, "points": 10}
check("adagrad", adagrad)
### BEGIN HIDDEN TESTS
check("adagrad", adagrad, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### RMSProp: AdaGrad with a memory that fades
#
# AdaGrad's sum never forgets: gradients from the start of training, often the largest, keep
# shrinking the steps long after they stopped mattering, and a network can stall before it has
# learned. **RMSProp** (Hinton, 2012) is AdaGrad's fix: instead of the sum of *all* squared
# gradients it keeps a running average of the *recent* ones (an exponential moving average with
# decay rate $\rho$, typically 0.99), and divides by its square root, the *root mean square*:
#
# $$
# s \leftarrow \rho\, s + (1 - \rho)\, (dw)^2, \qquad
# w \leftarrow w - \eta\, \frac{dw}{\sqrt{s} + \varepsilon} .
# $$
#
# Everything is elementwise: $s$ has the shape of $w$. A parameter whose gradients are large
# gets a large $\sqrt s$ and a step of about $\eta$; one whose gradients are tiny gets a tiny
# $\sqrt s$ and also a step of about $\eta$. The step size no longer depends on the scale of the
# gradient, so $\eta$ is roughly "how far a parameter may move per step". The tiny
# $\varepsilon = 10^{-8}$ only prevents a division by zero.
#
# ### Worked example
#
# Two parameters with gradients of very different size, `dw = [0.1, 10.0]`, the cache starting
# at zero, $\rho = 0.99$, $\eta = 0.01$:
#
# - cache $s = 0.99 \cdot 0 + 0.01 \cdot [0.01, 100] = [0.0001, 1.0]$, so $\sqrt s = [0.01, 1.0]$;
# - step $= 0.01 \cdot [0.1 / 0.01,\ 10 / 1.0] = [0.1, 0.1]$.
#
# Both parameters move by the same amount even though their gradients differ by a factor of 100.
# Note the step is $10\eta$, not $\eta$: the cache started at 0 and after one step holds only
# 1 % of $dw^2$, so $\sqrt s$ is 10 times too small. The first steps of RMSProp are too large;
# Adam, below, corrects this.

# %%
print(nnlib.rmsprop(np.array([1.0, 1.0]), np.array([0.1, 10.0]), {"learning_rate": 0.01}))

# %% [markdown]
# ### Exercise 5: `rmsprop` (20 points)
#
# One RMSProp step, the two formulas above, with $\rho$ = `decay_rate` and $s$ =
# `config["cache"]`. Defaults: `learning_rate=1e-2`, `decay_rate=0.99`, `epsilon=1e-8`, and
# the cache zeros shaped like `w` when missing. Return the new `w` and the config holding the
# new cache. About 10 lines.
#
# <details><summary>Hint 1: you have written this shape before</summary>
#
# It is `sgd_momentum` with a different state (`"cache"` instead of `"velocity"`), three
# defaults instead of two, and a different pair of formulas.
#
# </details>
#
# <details><summary>Hint 2: elementwise, no loops</summary>
#
# `dw * dw` (or `dw ** 2`) squares every entry, `np.sqrt(cache)` takes every entry's root, and
# `/` divides entry by entry: one line per formula, whatever the shape of `w`.
#
# </details>
#
# <details><summary>Hint 3: two details the checker looks at</summary>
#
# The step divides by the **new** cache, the one that already contains this `dw`. And
# $\varepsilon$ is added after the root: $\sqrt{s} + \varepsilon$, not $\sqrt{s + \varepsilon}$.
# The worked example above must give `[0.9, 0.9]` and cache `[0.0001, 1.0]`.
#
# </details>

# %% nbgrader={"grade_id": "rmsprop", "solution": true}
def rmsprop(w, dw, config=None):
    """One step of RMSProp.

    w: parameter array (any shape); dw: gradient w.r.t. w (same shape).
    config: dict or None; keys "learning_rate" (1e-2), "decay_rate" (0.99), "epsilon" (1e-8)
    and the state "cache" (shaped like w, zeros when missing).
    Returns (next_w, config): next_w shaped like w, one RMSProp step from w; config with the
    defaults filled in and the new cache in config["cache"]. w is not modified.
    """
    ### BEGIN SOLUTION
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = np.zeros_like(w, dtype=float)
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw * dw
    config["cache"] = cache
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return next_w, config
    ### END SOLUTION


# %%
print(rmsprop(np.array([1.0, 1.0]), np.array([0.1, 10.0]), {"learning_rate": 0.01}))

# %% nbgrader={"grade_id": "test_rmsprop", "grade": true, "points": 20}
check("rmsprop", rmsprop)
### BEGIN HIDDEN TESTS
check("rmsprop", rmsprop, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Your RMSProp on the valley, next to gradient descent and momentum (with the best $\mu$ found
# above). RMSProp heads along the diagonal at first: both coordinates take steps of about the
# same size, whatever the steepness, and the first step is the long one, $10\eta$ in each
# coordinate, as in the worked example. Once $w_2$ is near 0 its gradients are tiny, its cache
# follows them down, and $w_1$ carries on along the floor. Near the minimum all gradients
# shrink; the cache, an average over roughly the last $1/(1-\rho) = 100$ steps, still remembers
# larger ones, so the steps shrink too and the path settles (the loss on the right).

# %%
valley_paths = {
    "gradient descent, lr 0.09": gradient_descent(valley_grad, W_START, 0.09, 60),
    f"momentum {best_mu:.2f}, lr 0.03": run_optimizer(
        sgd_momentum, valley_grad, W_START, {"learning_rate": 0.03, "momentum": best_mu}, 60),
    "RMSProp, lr 0.1": run_optimizer(rmsprop, valley_grad, W_START, {"learning_rate": 0.1}, 60),
}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1.6, 1]})
plots.plot_loss_contours(ax1, valley_grid, levels=VALLEY_LEVELS, minimum=(0, 0))
plots.plot_optimizer_paths(ax1, valley_paths, legend_loc="lower right")
ax1.set(aspect="equal", title="60 steps each on the narrow valley")
for i, (name, path) in enumerate(valley_paths.items()):
    ax2.semilogy(valley(path.T), color=f"C{i}", label=name)
ax2.set(xlabel="step", ylabel="loss (log scale)", title="Loss per step")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()
rms_path = valley_paths["RMSProp, lr 0.1"]
print(f"RMSProp: first step {rms_path[1] - rms_path[0]}, loss after 60 steps "
      f"{valley(rms_path[-1]):.2g}, last step {np.linalg.norm(rms_path[-1] - rms_path[-2]):.2g} "
      "long")

# %% [markdown]
# ## 6. Adam: momentum + RMSProp + bias correction
#
# **Adam** (adaptive moment estimation, 2014) is the default optimizer for most networks. It
# keeps two running averages per parameter: $m$, of the gradient (a momentum, "first
# moment"), and $v$, of the squared gradient (RMSProp's cache, "second moment"). The step
# counter $t$ starts at 0 and is increased **first**, so the first step has $t = 1$:
#
# $$
# \begin{aligned}
# t &\leftarrow t + 1 \\
# m &\leftarrow \beta_1 m + (1 - \beta_1)\, dw, &\qquad
# v &\leftarrow \beta_2 v + (1 - \beta_2)\, dw^2 \\
# \hat m &= \frac{m}{1 - \beta_1^t}, &\qquad
# \hat v &= \frac{v}{1 - \beta_2^t} \\
# w &\leftarrow w - \eta\, \frac{\hat m}{\sqrt{\hat v} + \varepsilon}
# \end{aligned}
# $$
#
# with defaults $\eta = 10^{-3}$, $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\varepsilon = 10^{-8}$.
#
# **Why the hats (bias correction)?** Both averages start at zero, so early on they are pulled
# towards zero. With a constant gradient $g$, after $t$ steps
# $m = (1-\beta_1)(g + \beta_1 g + \dots + \beta_1^{t-1} g) = (1 - \beta_1^t)\, g$: the weights
# of the average add up to $1 - \beta_1^t$ instead of 1. Dividing by exactly that sum undoes
# the bias, so $\hat m = g$ and $\hat v = g^2$ from the very first step. At $t = 1$:
#
# - without correction, $m = 0.1\,g$ and $v = 0.001\,g^2$, so the step is
#   $\eta \cdot 0.1 g / (0.0316\,|g|) \approx 3.2\,\eta$, and worse over the next steps,
#   because $v$ (with $\beta_2 = 0.999$) forgets its zero start much more slowly than $m$;
# - with correction, $\hat m = g$, $\hat v = g^2$: the step is $\eta$ exactly.
#
# The picture shows the two correction factors, and the size of Adam's steps for a constant
# gradient with and without them; the cell prints the worst case. The correction matters most
# in the first hundred or so steps, exactly when the parameters are far from good and a too
# large step does most damage, and it fades only slowly, over thousands of steps, because
# $1 - \beta_2^t$ fills in so slowly.

# %%
t_axis = np.arange(1, 3001)
beta1, beta2 = 0.9, 0.999
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.4))
ax1.semilogx(t_axis, 1 - beta1 ** t_axis, label=r"$1 - \beta_1^t$  ($\beta_1 = 0.9$)")
ax1.semilogx(t_axis, 1 - beta2 ** t_axis, label=r"$1 - \beta_2^t$  ($\beta_2 = 0.999$)")
ax1.set(xlabel="step t (log scale)", ylabel="sum of the averaging weights",
        title="How much of the average is filled in")
ax1.legend(fontsize=8)
uncorrected = (1 - beta1 ** t_axis) / np.sqrt(1 - beta2 ** t_axis)   # m / sqrt(v) for g = 1
ax2.semilogx(t_axis, uncorrected, label="without bias correction: m / sqrt(v)")
ax2.semilogx(t_axis, np.ones_like(t_axis, dtype=float), label="with: m_hat / sqrt(v_hat)")
ax2.set(xlabel="step t (log scale)", ylabel="step size / learning rate",
        title="Adam's step for a constant gradient")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()
worst = int(np.argmax(uncorrected))
print(f"without the correction: at t = 1 the step is {uncorrected[0]:.2f} learning rates, at "
      f"most {uncorrected[worst]:.2f} (t = {t_axis[worst]}), at t = 1000 still "
      f"{uncorrected[999]:.2f} (1 - beta2**1000 = {1 - beta2 ** 1000:.2f})")

# %% [markdown]
# ### Worked example
#
# `w = [1.0]`, `dw = [0.5]`, default config (`learning_rate = 1e-3`), first call so $t$
# becomes 1:
#
# - $m = 0.9 \cdot 0 + 0.1 \cdot 0.5 = 0.05$, $\quad v = 0.999 \cdot 0 + 0.001 \cdot 0.25
#   = 0.00025$;
# - $\hat m = 0.05 / (1 - 0.9) = 0.5$, $\quad \hat v = 0.00025 / (1 - 0.999) = 0.25$;
# - `next_w` $= 1.0 - 0.001 \cdot 0.5 / (\sqrt{0.25} + 10^{-8}) = 1.0 - 0.001 = 0.999$.
#
# The config then holds `t = 1`, `m = [0.05]`, `v = [0.00025]` (the *uncorrected* averages:
# the hats are recomputed every step and never stored).

# %%
w_next, adam_config = nnlib.adam(np.array([1.0]), np.array([0.5]))
print("next w:", w_next)
print(f"t = {adam_config['t']}, m = {adam_config['m'][0]:.5g}, v = {adam_config['v'][0]:.5g}")

# %% [markdown]
# ### Exercise 6: `adam` (25 points)
#
# One Adam step, the four lines of formulas above. Defaults: `learning_rate=1e-3`,
# `beta1=0.9`, `beta2=0.999`, `epsilon=1e-8`; the state is `m` and `v` (zeros shaped like `w`
# when missing) and the step counter `t` (0 when missing). Return the new `w` and the config
# holding the new `t`, `m` and `v`. About 16 lines.
#
# <details><summary>Hint 1: three pieces of state</summary>
#
# The plan of `rmsprop` once more, with three states instead of one: `m` and `v` start as
# zeros like `w`, `t` starts at 0. All three are read from `config` at the start and written
# back at the end.
#
# </details>
#
# <details><summary>Hint 2: the counter</summary>
#
# Increase `t` before anything uses it, so that the first call computes with $t = 1$ (with
# $t = 0$ the corrections $1 - \beta^0 = 0$ would divide by zero).
#
# </details>
#
# <details><summary>Hint 3: what is stored and what is not</summary>
#
# `m` and `v` are updated exactly like a momentum average and an RMSProp cache and are stored.
# $\hat m$ and $\hat v$ are computed from the new `m`, `v` and `t`, used for the step, and
# thrown away: the worked example stores `m = [0.05]`, `v = [0.00025]`, not the hats.
#
# </details>

# %% nbgrader={"grade_id": "adam", "solution": true}
def adam(w, dw, config=None):
    """One step of Adam, with bias correction.

    w: parameter array (any shape); dw: gradient w.r.t. w (same shape).
    config: dict or None; keys "learning_rate" (1e-3), "beta1" (0.9), "beta2" (0.999),
    "epsilon" (1e-8) and the state "m", "v" (shaped like w, zeros when missing), "t" (0).
    Returns (next_w, config): next_w shaped like w, one Adam step from w; config with the
    defaults filled in and the new t, m and v (m and v without bias correction).
    w is not modified.
    """
    ### BEGIN SOLUTION
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    m = config.get("m")
    v = config.get("v")
    if m is None:
        m = np.zeros_like(w, dtype=float)
    if v is None:
        v = np.zeros_like(w, dtype=float)
    b1, b2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = b1 * m + (1 - b1) * dw
    v = b2 * v + (1 - b2) * dw * dw
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    config["t"], config["m"], config["v"] = t, m, v
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config
    ### END SOLUTION


# %%
w_next, adam_config = adam(np.array([1.0]), np.array([0.5]))
print("next w:", w_next)
print(f"t = {adam_config['t']}, m = {adam_config['m'][0]:.5g}, v = {adam_config['v'][0]:.5g}")

# %% nbgrader={"grade_id": "test_adam", "grade": true, "points": 25}
check("adam", adam)
### BEGIN HIDDEN TESTS
check("adam", adam, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Explore: Adam's betas
#
# Your `adam` on the narrow valley, 60 steps with learning rate 0.3 (large, to make the
# effects visible).
#
# - $\beta_1$ is the momentum of the gradient average. $\beta_1 = 0$: no momentum, Adam is
#   RMSProp with bias correction, and the path goes to the minimum without overshooting.
#   Large $\beta_1$ (try 0.99): the path overshoots far past the minimum and curls back like
#   the heavy ball. Even the default 0.9 overshoots a little at this large learning rate.
# - $\beta_2$ is how long the squared-gradient average remembers. Small $\beta_2$ (0.5):
#   $\sqrt{\hat v} \approx |dw|$ of the last few steps, so every step is about $\eta$ long in
#   each coordinate (close to "move by $\eta$ in the direction of the gradient's sign"), however
#   close the minimum is: the path keeps hopping across it, and the loss on the right jumps up
#   and down. With a larger $\beta_2$ the average still remembers the larger gradients of
#   earlier steps, so the steps shrink as the gradients shrink.

# %%
ADAM_STEPS = 60
adam_background = plots.render_static_layer(
    lambda fig: draw_valley_background(fig, ADAM_STEPS, (1e-8, 1e2),
                                       f"{ADAM_STEPS} steps of your adam, learning rate 0.3"),
    VALLEY_FIGSIZE)


def draw_adam(fig, beta1, beta2):
    config = {"learning_rate": 0.3, "beta1": beta1, "beta2": beta2}
    path = run_optimizer(adam, valley_grad, W_START, config, ADAM_STEPS)
    ax1, ax2 = plots.add_static_layer(fig, adam_background)
    plots.plot_optimizer_paths(ax1, {f"Adam, β1 {beta1:.2f}, β2 {beta2}": path}, colors=["C3"],
                               legend_loc="lower right")
    ax2.plot(np.maximum(valley(path.T), 1e-30), color="C3")
    return (f"beta1 {beta1:.2f}, beta2 {beta2}: loss after {ADAM_STEPS} steps "
            f"{valley(path[-1]):.3g}, final point ({path[-1, 0]:.3f}, {path[-1, 1]:.3f})")


adam_panel = slider_panel(
    draw_adam,
    {"beta1": float_slider("β1", 0.9, 0.0, 0.99, 0.01, readout_format=".2f"),
     "beta2": widgets.SelectionSlider(options=[0.5, 0.9, 0.99, 0.999, 0.9999], value=0.999,
                                      description="β2")},
    figsize=VALLEY_FIGSIZE, title="Adam's two averages on a narrow valley")
adam_panel

# %% [markdown]
# ## 7. The race: your optimizers on a banana-shaped valley
#
# A harder surface: the **Rosenbrock function**
#
# $$
# L(w) = (1 - w_1)^2 + 100\,(w_2 - w_1^2)^2 ,
# $$
#
# a curved, narrow valley along the parabola $w_2 = w_1^2$, with its minimum at $(1, 1)$. The
# walls are steep (the factor 100) and the floor is almost flat, a classic test of
# optimizers. Your update rules start at $(-1.5, 2)$ and take 1000 steps each, each with a
# learning rate that works for it. Every optimizer gets its own picture; the dots on a path mark
# every 100th step, so widely spaced dots mean fast progress, and the cross is where it ends.
# Below them, the loss per step of all of them.

# %%
def rosenbrock(w):
    return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2


def rosenbrock_grad(w):
    return np.array([-2 * (1 - w[0]) - 400 * w[0] * (w[1] - w[0] ** 2),
                     200 * (w[1] - w[0] ** 2)])


RACE_STEPS = 1000
RACE_START = [-1.5, 2.0]
racers = {
    "sgd, lr 0.001": (sgd, {"learning_rate": 1e-3}),
    "sgd_momentum, lr 0.001, μ 0.9": (sgd_momentum, {"learning_rate": 1e-3, "momentum": 0.9}),
    "rmsprop, lr 0.01": (rmsprop, {"learning_rate": 1e-2}),
    "adam, lr 0.1": (adam, {"learning_rate": 0.1}),
}
race_paths = {name: run_optimizer(rule, rosenbrock_grad, RACE_START, config, RACE_STEPS)
              for name, (rule, config) in racers.items()}

rosen_grid = plots.loss_surface_grid(rosenbrock, (-1.8, 1.6), (-0.4, 2.4), 150)
fig = plt.figure(figsize=(13, 6.6))
layout = fig.add_gridspec(2, len(racers), height_ratios=[1, 0.85])
for i, (name, path) in enumerate(race_paths.items()):
    ax = fig.add_subplot(layout[0, i])
    plots.plot_loss_contours(ax, rosen_grid, levels=np.geomspace(0.1, 2500, 11), minimum=(1, 1))
    plots.plot_optimizer_paths(ax, {name: path}, colors=[f"C{i}"], legend=False,
                               max_markers=10, marker_size=5)
    ax.set(aspect="equal", title=f"{name}\nloss after {RACE_STEPS} steps: "
                                 f"{rosenbrock(path[-1]):.2g}")
    ax.title.set_fontsize(9)
loss_ax = fig.add_subplot(layout[1, :])
for i, (name, path) in enumerate(race_paths.items()):
    loss_ax.loglog(np.arange(1, RACE_STEPS + 2), rosenbrock(path.T), color=f"C{i}", label=name)
loss_ax.set(xlabel="step (log scale)", ylabel="loss (log scale)",
            title="Loss per step on the Rosenbrock valley")
loss_ax.legend(fontsize=8, loc="lower left")
fig.tight_layout()
plt.show()
for name, path in race_paths.items():
    print(f"{name:32s} final point ({path[-1, 0]:+.3f}, {path[-1, 1]:+.3f}), "
          f"loss {rosenbrock(path[-1]):.2e}")
with np.errstate(over="ignore", invalid="ignore"):              # a diverging path overflows
    for lr in (0.002, 0.0025):
        end = run_optimizer(sgd, rosenbrock_grad, RACE_START, {"learning_rate": lr},
                            RACE_STEPS)[-1]
        print(f"sgd with lr {lr}: final point ({end[0]:+.3f}, {end[1]:+.3f}), "
              f"loss {rosenbrock(end):.2e}")

# %% [markdown]
# Plain SGD drops into the valley quickly (the walls are steep, so the gradient is large) and
# then crawls along the flat floor: after 1000 steps it is still far from $(1, 1)$ (the
# printout). Momentum builds up speed along the floor and gets there. Adam's steps are about
# its learning rate long whatever the size of the gradient, so it moves along the flat floor
# at a steady pace, and its momentum carries it around the bend. RMSProp moves along the floor
# too, but in the second half of the run its loss starts to **spike**: see below.
#
# Which optimizer "wins" depends on the surface and on the learning rates. The last two lines
# of the printout are plain SGD with larger rates: the first of them nearly reaches the
# minimum, the second, only a quarter larger, diverges on the steep walls (`nan`). Go back to
# the cell and try others (for example Adam with 0.01).
#
# ### Why RMSProp's loss spikes
#
# RMSProp moves coordinate $i$ by $\eta / (\sqrt{s_i} + \varepsilon)$ times its gradient: it is
# gradient descent with a learning rate of its own for every coordinate, the **effective
# learning rate** $\eta / \sqrt{s_i}$. And Section 1 says when gradient descent is stable:
# while learning rate $\times$ curvature $< 2$. Now follow the cache along the valley floor:
#
# 1. On the floor the gradients are small. Every step multiplies the cache by $\rho = 0.99$ and
#    adds only a little, so $\sqrt{s}$ shrinks and the effective learning rates **grow**: the
#    steps get longer although the gradients are not getting larger.
# 2. Across the valley the curvature is large (the steep walls). Once effective learning rate
#    $\times$ curvature across the valley passes 2, the path starts to zig-zag from wall to
#    wall, a little further each step, as in the divergent case of Section 1: the loss spikes.
# 3. On the walls the gradients are large. They refill the cache, the effective learning
#    rates drop back below the border, the zig-zag dies out, and the cycle starts again.
#
# The picture follows your `rmsprop` on the race's path and shows exactly that. The bottom
# right panel computes "effective learning rate $\times$ curvature" for the steepest direction.
# With two coordinates, each with its own rate, that is the largest eigenvalue of the matrix
# of second derivatives (the *Hessian* $H$) scaled by the rates,
# $\operatorname{diag}(\sqrt{r})\, H\, \operatorname{diag}(\sqrt{r})$ with $r_i = \eta/\sqrt{s_i}$;
# for one coordinate it is simply Section 1's $\eta a$. The grey lines mark the spikes.

# %%
def rosenbrock_hessian(w):
    """The matrix of second derivatives of the Rosenbrock function at w (2,): shape (2, 2)."""
    return np.array([[2 - 400 * (w[1] - w[0] ** 2) + 800 * w[0] ** 2, -400 * w[0]],
                     [-400 * w[0], 200.0]])


w, rms_config = np.array(RACE_START), dict(racers["rmsprop, lr 0.01"][1])
rms_loss, rms_step, rms_rate, rms_sharpness = [], [], [], []
for _ in range(RACE_STEPS):
    next_w, rms_config = rmsprop(w, rosenbrock_grad(w), rms_config)
    rate = rms_config["learning_rate"] / (np.sqrt(rms_config["cache"]) + rms_config["epsilon"])
    scaled = np.sqrt(rate)[:, None] * rosenbrock_hessian(w) * np.sqrt(rate)[None, :]
    rms_loss.append(rosenbrock(w))
    rms_step.append(np.linalg.norm(next_w - w))
    rms_rate.append(rate)
    rms_sharpness.append(np.linalg.eigvalsh(scaled).max())
    w = next_w
rms_loss, rms_step = np.array(rms_loss), np.array(rms_step)
rms_rate, rms_sharpness = np.array(rms_rate), np.array(rms_sharpness)
# a spike: the longest step within 10 steps either side, 3 times the shortest of the 30 before
spikes = [t for t in range(30, RACE_STEPS - 10)
          if rms_step[t] == rms_step[t - 10:t + 11].max()
          and rms_step[t] > 3 * rms_step[t - 30:t].min()]

steps = np.arange(RACE_STEPS)
fig, axes = plt.subplots(2, 2, figsize=(12, 6), sharex=True)
(ax_loss, ax_step), (ax_rate, ax_sharp) = axes
ax_loss.semilogy(steps, rms_loss, color="C2")
ax_loss.set(ylabel="loss (log scale)", title="RMSProp's loss")
ax_step.semilogy(steps, rms_step, color="C2")
ax_step.set(ylabel="|step| (log scale)", title="Length of each step")
ax_rate.semilogy(steps, rms_rate[:, 0], color="C0", label=r"$w_1$")
ax_rate.semilogy(steps, rms_rate[:, 1], color="C1", label=r"$w_2$")
ax_rate.set(xlabel="step", ylabel=r"$\eta / \sqrt{s}$ (log scale)",
            title="Effective learning rate of each coordinate")
ax_rate.legend(fontsize=8)
ax_sharp.plot(steps, rms_sharpness, color="C3")
ax_sharp.axhline(2, color="k", ls="--", lw=1, label="2: Section 1's border")
ax_sharp.set(xlabel="step", ylim=(0, 5), ylabel="effective rate × curvature",
             title="Effective learning rate × curvature, steepest direction")
ax_sharp.legend(fontsize=8, loc="upper left")
for ax in axes.flat:
    for t in spikes:
        ax.axvline(t, color="0.6", lw=0.8, zorder=0)
fig.tight_layout()
plt.show()
first_cross = int(np.argmax(rms_sharpness > 2))
print(f"{len(spikes)} spikes (the longest steps), at steps {spikes}; the loss there rises "
      "to " + ", ".join(f"{rms_loss[t - 2:t + 3].max() / rms_loss[t - 10]:.1f}" for t in spikes)
      + " times its value 10 steps before")
print(f"effective rate x curvature first passes 2 at step {first_cross}, and is at most "
      f"{rms_sharpness[:spikes[0]].max():.2f} before the first spike")

# %% [markdown]
# Read the panels from the top left. Between spikes the loss falls slowly, the effective
# learning rates creep up (the cache forgets the large gradients of the last spike) and with
# them the steps grow and the bottom right curve rises. A zig-zag starts tiny, so it takes a
# while after the curve has passed 2 until it is large enough to see: then the step length
# and the loss shoot up, the cache fills, the rates drop, and the curve falls back below 2.
# Then it all repeats. The first spike shows in the step length but hardly in the loss, which
# is still large then; the later ones, close to the minimum, double or triple the loss (the
# printout), because there a few steps up the wall cost as much as all the remaining way along
# the floor.
#
# Nothing is wrong with your `rmsprop`: this is what the rule does when the gradients stay
# small for a while on a surface with steep walls. A smaller learning rate keeps the effective
# rates lower for longer (try RMSProp with 0.003 in the race: no spike in 1000 steps, but
# slower progress). Adam keeps the same kind of cache, yet its loss in the race shows no
# spikes. A zig-zag makes the gradient flip its sign every step, and the momentum average of a
# flipping gradient is small (Section 4): take Adam's momentum away (`"beta1": 0.0` in the race
# cell) and spikes appear.
#
# ## 8. Training a real network with your optimizers
#
# Now your update rules drive `nnlib.train` on the handwritten digits (8x8 pixel images, 64
# inputs, 10 classes): a network 64 - 64 - 10 with ReLU, mini-batches of 32, 15 epochs.
# `nnlib.train` calls `update_rule(w, dw, config)` for every parameter array after every
# mini-batch, with one config per array (its own velocity, cache, or `m`, `v`, `t`). Every run
# starts from the same initial weights and sees the same batches.

# %%
X_digits, y_digits = load_digits()
split_rng = np.random.default_rng(0)
X_tr, y_tr, X_va, y_va, _, _ = nnlib.train_val_test_split(X_digits, y_digits, 0.3, 0.0,
                                                          split_rng)
print(f"training {X_tr.shape}, validation {X_va.shape}")
DIGIT_EPOCHS = 15


def train_digits(update_rule, optim_config):
    """A fresh 64-64-10 network trained by update_rule; returns (model, history)."""
    model = nnlib.MLP.create([64, 64, 10], np.random.default_rng(1))
    history = nnlib.train(model, X_tr, y_tr, X_va, y_va, rng=np.random.default_rng(2),
                          epochs=DIGIT_EPOCHS, batch_size=32, update_rule=update_rule,
                          optim_config=optim_config)
    return model, history


net_runs = {
    "sgd, lr 0.2": train_digits(sgd, {"learning_rate": 0.2}),
    "sgd_momentum, lr 0.02, μ 0.9": train_digits(sgd_momentum,
                                                  {"learning_rate": 0.02, "momentum": 0.9}),
    "rmsprop, lr 0.001": train_digits(rmsprop, {"learning_rate": 1e-3}),
    "adam, lr 0.002": train_digits(adam, {"learning_rate": 2e-3}),
}


def smooth(values, width=20):
    """Moving average, to see the trend of noisy mini-batch losses."""
    return np.convolve(values, np.ones(width) / width, mode="valid")


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
for i, (name, (_, history)) in enumerate(net_runs.items()):
    steps_per_epoch = len(history.batch_loss) / history.epochs
    curve = smooth(history.batch_loss)
    ax1.semilogy((np.arange(len(curve)) + 20) / steps_per_epoch, curve, color=f"C{i}",
                 label=name)
    ax2.plot(np.arange(1, history.epochs + 1), history.val_acc, "o-", ms=3, color=f"C{i}",
             label=name)
ax1.set(xlabel="epoch", ylabel="training loss (moving average, log)",
        title="Mini-batch loss with your optimizers")
ax2.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.5, 1.0),
        title="Accuracy on held-out digits")
ax1.legend(fontsize=8)
ax2.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()
for name, (_, history) in net_runs.items():
    print(f"{name:30s} validation accuracy after {history.epochs} epochs: "
          f"{history.val_acc[-1]:.3f}")
swapped = {"adam with sgd's rate, lr 0.2": train_digits(adam, {"learning_rate": 0.2}),
           "sgd with adam's rate, lr 0.002": train_digits(sgd, {"learning_rate": 2e-3})}
for name, (_, history) in swapped.items():
    print(f"{name:30s} validation accuracy after {history.epochs} epochs: "
          f"{history.val_acc[-1]:.3f}")

# %% [markdown]
# All of them train the network to a high accuracy on digits it never saw (the printout). On
# this small, easy problem plain SGD with a well-chosen learning rate keeps up with the others;
# the advantage of momentum and of the adaptive methods shows on larger, worse-conditioned
# networks, and in how forgiving they are about the learning rate. Each needed its own rate,
# though: the last two lines of the printout swap the rates of SGD and Adam, and both runs
# fall far behind.
#
# Finally, Section 1 on a real network: your `sgd` with learning rates from too small to too
# large. A hidden ReLU unit is **dead** when it outputs 0 for every training digit: its
# gradient is then 0 for every digit too, so no later step can revive it.

# %%
lr_runs = {0.002: swapped["sgd with adam's rate, lr 0.002"], 0.2: net_runs["sgd, lr 0.2"],
           1.0: train_digits(sgd, {"learning_rate": 1.0}),
           3.0: train_digits(sgd, {"learning_rate": 3.0})}
dead_units = {}
for lr, (model, _) in lr_runs.items():
    hidden = np.maximum(X_tr @ model.params["W1"] + model.params["b1"], 0)   # ReLU outputs
    dead_units[lr] = int(np.sum(hidden.max(axis=0) == 0))   # units giving 0 for every digit
fig, ax = plt.subplots(figsize=(7.5, 3.6))
for lr, (_, history) in lr_runs.items():
    ax.plot(np.arange(1, history.epochs + 1), history.train_loss, "o-", ms=3,
            label=f"lr {lr}: {dead_units[lr]} of 64 hidden units dead")
ax.set(xlabel="epoch", ylabel="training loss (mean over the epoch)",
       title="Your sgd on the digits network: the learning rate")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"log(10) = {np.log(10):.3f}, the loss of guessing uniformly among 10 classes")
for lr, (_, history) in lr_runs.items():
    rise = max(np.diff(history.train_loss).max(), 0.0)   # the largest jump up between epochs
    print(f"lr {lr:5}: training loss after epoch 1 {history.train_loss[0]:.3f}, after "
          f"{history.epochs} epochs {history.train_loss[-1]:.3f} (largest rise between two "
          f"epochs {rise:.3f}); validation accuracy {history.val_acc[-1]:.2f}; "
          f"{dead_units[lr]} of 64 hidden units dead")

# %% [markdown]
# - **0.002** is safe but far too slow: after 15 epochs the network has barely started.
# - **0.2** learns quickly and steadily.
# - **1.0** is fast, but living on the edge: where its curve jumps up, a run of too-large steps
#   undid several epochs of progress, and many more of its hidden units are dead than with 0.2.
# - **3.0** overshoots so far in the first steps that the network breaks: the loss goes to
#   about $\log 10$ (the loss of guessing) and stays there, because the huge steps killed every
#   hidden unit.
#
# ## Summary
#
# - **Gradient descent** $w \leftarrow w - \eta \nabla L(w)$. On a quadratic with curvature
#   $a$ every step multiplies the distance to the minimum by $1 - \eta a$: it converges for
#   $\eta < 2/a$ and **diverges** above. Too small is slow, too large is fatal.
# - **Mini-batch SGD** estimates the gradient from a few examples: unbiased but noisy, far
#   cheaper per step, and the noise keeps it jittering near the minimum.
# - An **update rule** `(w, dw, config) -> (next_w, config)` keeps its hyperparameters and its
#   memory in `config`; the training loop keeps one config per parameter array.
# - **Ill-conditioned** surfaces (long narrow valleys: curvatures that differ a lot) force a
#   small $\eta$ and slow progress. **Momentum** $v \leftarrow \mu v - \eta\, dw$,
#   $w \leftarrow w + v$ accelerates along consistent directions (up to $1/(1-\mu)$ times) and
#   damps zig-zags.
# - **AdaGrad** divides each parameter's step by the root of the sum of all its squared
#   gradients, so every parameter starts with steps of $\eta$; but the sum only grows, and the
#   steps shrink for ever.
# - **RMSProp** divides each parameter's step by the root mean square of its recent gradients,
#   so every parameter moves about $\eta$ per step whatever the scale of its gradient. Its
#   effective learning rate $\eta/\sqrt{s}$ grows while the gradients stay small, until
#   Section 1's border is crossed: the spikes on the Rosenbrock valley.
# - **Adam** combines both: a momentum average $m$ and a squared-gradient average $v$, with
#   **bias correction** $\hat m = m / (1 - \beta_1^t)$, $\hat v = v / (1 - \beta_2^t)$ that
#   undoes their zero start, so the very first step is already $\eta$ long, not several times
#   that.
# - No optimizer removes the need to choose the learning rate; each has its own good range.
#
# Next, in notebook 05: a network that fits its training data *too* well, and how to stop it.
