# %% [markdown]
# # 05 Regularization
#
# A network with enough parameters can learn its training set by heart: every training example
# classified perfectly, the training loss near zero, and yet it does worse on new examples than
# it did a while ago. This is **overfitting**, and the techniques that fight it are called
# **regularization**. They all make it harder for the network to memorise, so that what it
# learns has to work for many examples at once.
#
# By the end of this notebook you will be able to
#
# - recognise overfitting in **training and validation curves**, and say why a small training
#   set makes it worse;
# - implement **inverted dropout**, explain why it divides by the keep probability, and why it is
#   switched off at evaluation time;
# - add an **L2 penalty** (weight decay) to the loss and its gradient, leaving the biases free;
# - decide when to stop training with **early stopping** (patience and a minimum improvement);
# - make more training data for free with **data augmentation**: shifted copies of digit images;
# - plug your functions into `nnlib` and watch them narrow the gap between training and
#   validation.
#
# | exercise | points |
# |---|---|
# | `dropout_forward` | 20 |
# | `dropout_backward` | 10 |
# | `l2_penalty` | 20 |
# | `early_stopping` | 20 |
# | `shift_image` | 20 |
# | `random_shift` | 10 |
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
from nnlib.datasets import load_digit_images, load_digits
from nnlib.widgets import float_slider, slider_panel

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Overfitting: training and validation curves
#
# We measure how well a network does on examples it has *not* trained on with a **validation
# set** (notebook 00): a slice of the data kept aside, never used for a gradient step. During
# training we record, after every epoch, the loss on the training set and on the validation
# set. Their difference, the **generalization gap**, is what this notebook is about.
#
# To make overfitting easy to see we give a network far more capacity than data: only **100**
# training digits (of 1797), a hidden layer of 128 units (8,330 parameters, 83 per training
# example), and 150 epochs of Adam. After each epoch, a callback evaluates the training set in
# evaluation mode (`model.loss`), so that both curves measure the same thing.

# %%
X_digits, y_digits = load_digits()
X_train_all, y_train_all, X_val, y_val, X_test, y_test = nnlib.train_val_test_split(
    X_digits, y_digits, 0.25, 0.35, np.random.default_rng(0))
X_small, y_small = X_train_all[:100], y_train_all[:100]        # the small training set
print(f"training {X_small.shape}, validation {X_val.shape}, test {X_test.shape}")


def train_small(ops=None, keep_prob=1.0, reg=0.0, epochs=150, augment=None, patience=None,
                stopper=nnlib.early_stopping, X_check=X_val, y_check=y_val, seed=1):
    """A fresh 64-128-10 network trained on the 100 small-set digits.

    Returns (model, history, train_losses): train_losses[e] is the evaluation-mode loss on the
    training set after epoch e (history.train_loss is measured with dropout and penalty on).
    """
    model = nnlib.MLP.create([64, 128, 10], np.random.default_rng(seed), keep_prob=keep_prob,
                             ops=ops)
    train_losses = []
    history = nnlib.train(
        model, X_small, y_small, X_check, y_check, rng=np.random.default_rng(seed + 1),
        epochs=epochs, batch_size=20, update_rule=nnlib.adam,
        optim_config={"learning_rate": 1e-2}, reg=reg, augment=augment, patience=patience,
        early_stopping=stopper,
        callback=lambda epoch, h: train_losses.append(model.loss(X_small, y_small)))
    return model, history, np.array(train_losses)


plain_model, plain_history, plain_train_loss = train_small()

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
plots.plot_train_val_curves(ax1, plain_train_loss, plain_history.val_loss, color="C0")
ax1.set(title="Loss: the gap opens", ylim=(0, 1.0))
ax1.legend(fontsize=8)
plots.plot_train_val_curves(ax2, plain_history.train_acc, plain_history.val_acc, color="C0",
                            ylabel="accuracy")
ax2.set(title="Accuracy", ylim=(0.5, 1.02))
ax2.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()
best = int(np.argmin(plain_history.val_loss))
print(f"lowest validation loss {plain_history.val_loss[best]:.3f} after epoch {best}; "
      f"after epoch 149: {plain_history.val_loss[-1]:.3f} (training loss "
      f"{plain_train_loss[-1]:.5f})")

# %% [markdown]
# Read the curves from left to right:
#
# - In the first ~10 epochs both losses fall together: the network learns what digits have in
#   common, and that helps on every digit.
# - Then the training loss keeps falling towards 0, with 100 % training accuracy, while the
#   validation loss turns **up**. The network now learns the peculiarities of its 100 examples,
#   and it becomes ever more *confident*: the few validation digits it gets wrong, it gets wrong
#   with probabilities near 0 for the true class, and cross-entropy punishes that hard.
# - Validation accuracy barely moves after the first 10 epochs: just under 90 % against 100 % in
#   training.
#
# Everything below fights this gap. There are three families of ideas: make memorising harder
# (**dropout**, an **L2 penalty**), stop before it happens (**early stopping**), and give the
# network more data (**augmentation**).
#
# ## 2. Dropout
#
# **Dropout** (Srivastava et al., 2014) switches off a random part of the hidden units in every
# training step: each unit is kept with probability $p$, the **keep probability**, and set to 0
# otherwise, with a fresh random choice for every example and every step. A unit can no longer
# rely on one particular other unit being there, so the network cannot build fragile
# co-adaptations that encode single training examples; it has to spread what it knows over many
# units. Training with dropout is like training a huge family of thinned networks that share
# their weights.
#
# A layer's output $x$ is multiplied by a random **mask** $m$ of the same shape:
#
# $$
# m_i = \begin{cases} 1/p & \text{with probability } p \\ 0 & \text{with probability } 1-p
# \end{cases}, \qquad \text{out} = x \odot m .
# $$
#
# **Why divide by $p$?** Without it, a unit's output in training would be $x_i$ with
# probability $p$ and 0 otherwise, so on average $p\,x_i$; at test time, with every unit on,
# the next layer would suddenly receive $x_i$, more than it ever saw in training. Dividing the
# kept values by $p$ makes the average right during training,
# $\mathbb E[\text{out}_i] = p \cdot x_i / p = x_i$, so at test time the layer simply does
# nothing. This is **inverted dropout**; the alternative, multiplying by $p$ at test time, is
# easy to forget.
#
# **Evaluation mode.** At test time we want the network's best prediction, not a random one:
# dropout is switched off, `out = x`. Every model has these two modes; `nnlib`'s `MLP` applies
# dropout only in `loss_and_grads` (training), never in `predict`.
#
# The picture: one row of 12 activations, three random masks with $p = 0.5$ (each keeps a
# different half, doubled), and the average over 10,000 masks with and without the $1/p$.

# %%
rng = np.random.default_rng(3)
activations = np.round(rng.uniform(0.5, 3.0, size=(1, 12)), 1)
units = np.arange(12)
fig, axes = plt.subplots(1, 5, figsize=(14, 2.6), sharey=True)
axes[0].bar(units, activations[0], color="0.5")
axes[0].set(title="x (no dropout)", xlabel="unit", ylim=(0, 6.2))
for k, ax in enumerate(axes[1:4]):
    out, mask = nnlib.dropout_forward(activations, 0.5, True, rng)
    ax.bar(units, out[0], color="C0")
    ax.plot(units[mask[0] == 0], np.zeros(np.sum(mask[0] == 0)), "rx")
    ax.set(title=f"training step {k + 1}", xlabel="unit")
many, _ = nnlib.dropout_forward(np.repeat(activations, 10000, axis=0), 0.5, True, rng)
axes[4].bar(units - 0.2, many.mean(axis=0), width=0.4, label="mean of x * mask (inverted)")
axes[4].bar(units + 0.2, (many * 0.5).mean(axis=0), width=0.4, color="C3",
            label="mean without the 1/p")
axes[4].plot(units, activations[0], "k_", ms=12, mew=2, label="x")
axes[4].set(title="average over 10,000 masks", xlabel="unit")
axes[4].legend(fontsize=7, loc="upper left")
for ax in axes:
    ax.set_xticks(units[::2])
fig.tight_layout()
plt.show()

# %% [markdown]
# The red crosses mark dropped units; the kept ones are doubled ($1/p = 2$). On average
# (right) inverted dropout gives back $x$ (black marks); without the division it gives only
# half of it. (One call on 10,000 copies of the row draws 10,000 independent masks at once.)
#
# ### Worked example
#
# `x = [[1, 2, 3, 4]]`, `keep_prob = 0.5`, `rng = np.random.default_rng(0)`. The mask is
# built from **one** call `rng.random(x.shape)`, here `[[0.637, 0.270, 0.041, 0.017]]`:
#
# - keep where the number is below 0.5: `[[False, True, True, True]]`;
# - divide by 0.5: `mask = [[0, 2, 2, 2]]`;
# - `out = x * mask = [[0, 4, 6, 8]]`, and the cache is the mask.
#
# Not training (`train=False`): `out = x` and `cache = None`, without touching `rng` (so the
# random numbers of training are not disturbed by an evaluation in between).

# %%
x_example = np.array([[1.0, 2.0, 3.0, 4.0]])
print(nnlib.dropout_forward(x_example, 0.5, True, np.random.default_rng(0)))
print(nnlib.dropout_forward(x_example, 0.5, False, np.random.default_rng(0)))

# %% [markdown]
# ### Exercise 1: `dropout_forward` (20 points)
#
# In training: `mask = (rng.random(x.shape) < keep_prob) / keep_prob`, `out = x * mask`,
# return `(out, mask)`. Not training: return `(x, None)` and do not call `rng`.

# %% nbgrader={"grade_id": "dropout_forward", "solution": true}
def dropout_forward(x, keep_prob, train, rng):
    """Inverted dropout.

    x: activations, any shape, e.g. (N, H). keep_prob: probability p of keeping a unit (0, 1].
    train: True in training (drop), False in evaluation (do nothing).
    rng: a numpy Generator; use it only when training.
    Returns (out, cache), out shaped like x:
        training: mask = (rng.random(x.shape) < keep_prob) / keep_prob; out = x * mask;
                  cache = mask
        evaluation: out = x; cache = None

    Hint: an if for the evaluation case, then two lines (about 4 lines).
    """
    ### BEGIN SOLUTION
    if not train:
        return x, None
    mask = (rng.random(x.shape) < keep_prob) / keep_prob
    return x * mask, mask
    ### END SOLUTION


# %%
print(dropout_forward(x_example, 0.5, True, np.random.default_rng(0)))
print(dropout_forward(x_example, 0.5, False, np.random.default_rng(0)))

# %% nbgrader={"grade_id": "test_dropout_forward", "grade": true, "points": 20}
check("dropout_forward", dropout_forward)
### BEGIN HIDDEN TESTS
check("dropout_forward", dropout_forward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### The backward pass of dropout
#
# The forward pass is an elementwise multiplication by a constant (the mask), so by the chain
# rule the gradient flows back multiplied by the same mask:
#
# $$
# \frac{\partial L}{\partial x_i} = \frac{\partial L}{\partial \text{out}_i}\, m_i .
# $$
#
# A dropped unit gets gradient 0 (it took no part in this step's loss), a kept one gets its
# upstream gradient times $1/p$. In evaluation mode (`cache is None`) the layer was the
# identity, so the gradient passes unchanged.
#
# **Worked example.** With the mask above, `[[0, 2, 2, 2]]`, and upstream gradient
# `dout = [[0.1, 0.2, 0.3, 0.4]]`: `dx = [[0, 0.4, 0.6, 0.8]]`.

# %%
dout_example = np.array([[0.1, 0.2, 0.3, 0.4]])
print(nnlib.dropout_backward(dout_example, np.array([[0.0, 2.0, 2.0, 2.0]])))

# %% [markdown]
# ### Exercise 2: `dropout_backward` (10 points)

# %% nbgrader={"grade_id": "dropout_backward", "solution": true}
def dropout_backward(dout, cache):
    """Gradient of inverted dropout.

    dout: upstream gradient, shaped like the forward output. cache: the mask from
    dropout_forward (same shape), or None if the forward pass was in evaluation mode.
    Returns dx (shaped like dout): dout * mask, or dout unchanged when cache is None.

    Hint: about 2 lines.
    """
    ### BEGIN SOLUTION
    if cache is None:
        return dout
    return dout * cache
    ### END SOLUTION


# %%
print(dropout_backward(dout_example, np.array([[0.0, 2.0, 2.0, 2.0]])))

# %% nbgrader={"grade_id": "test_dropout_backward", "grade": true, "points": 10}
check("dropout_backward", dropout_backward)
### BEGIN HIDDEN TESTS
check("dropout_backward", dropout_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The L2 penalty (weight decay)
#
# An overfitting network typically has some **large weights**: they let it react strongly to
# tiny details of particular inputs. The L2 penalty adds the squared size of the weights to the
# loss, so that large weights have to pay for themselves by reducing the data loss a lot:
#
# $$
# L_\text{total} = L_\text{data} + \frac{\lambda}{2} \sum_{\ell} \sum_{j,k} \left(W^{(\ell)}_{jk}\right)^2,
# \qquad
# \frac{\partial}{\partial W} \frac{\lambda}{2} \lVert W \rVert^2 = \lambda\, W .
# $$
#
# $\lambda$ (`reg`) sets the strength; the $\tfrac12$ only makes the gradient tidy. With plain
# SGD one step becomes
#
# $$
# W \leftarrow W - \eta\,(\nabla L_\text{data} + \lambda W) = (1 - \eta\lambda)\, W - \eta\, \nabla L_\text{data}:
# $$
#
# every step first shrinks all weights by the factor $1 - \eta\lambda$, hence the name **weight
# decay**. A weight survives only if the data keeps pushing it back.
#
# **Only the weights, not the biases.** A weight decides how strongly a unit reacts to its
# input; large weights make the function steep and wiggly, which is what overfitting looks
# like. A bias only shifts a unit's output up or down; it does not make the function more
# sensitive to its input, and the network may genuinely need large offsets (for example when
# one class is more common than another). There are also few of them, so they add little
# capacity. Penalising biases would pull the model towards wrong offsets and buy nothing. In
# `nnlib`'s parameter dicts, the weights are exactly the arrays whose key starts with `"W"`.
#
# **The picture.** For a two-weight model whose data loss has the contours on the left
# (minimum at the star), the penalty adds circles centred at 0. The minimum of the total loss
# slides from the star towards the origin as $\lambda$ grows; notice that it gives up the
# weight $w_1$, in whose direction the data loss is **flat** (the data cares little), much faster
# than $w_2$, in whose direction it is steep. L2 removes what the data does not insist on.

# %%
CURVATURE = np.array([1.0, 10.0])
W_DATA_BEST = np.array([2.5, 1.5])


def data_loss(w):
    """A quadratic data loss with its minimum at W_DATA_BEST; w is (2,) or (2, ...)."""
    d0, d1 = w[0] - W_DATA_BEST[0], w[1] - W_DATA_BEST[1]
    return 0.5 * (CURVATURE[0] * d0 ** 2 + CURVATURE[1] * d1 ** 2)


lambdas = np.concatenate([[0.0], np.geomspace(0.01, 100, 200)])
minima = np.array([CURVATURE / (CURVATURE + lam) * W_DATA_BEST for lam in lambdas])
surface = plots.loss_surface_grid(data_loss, (-0.5, 3.5), (-0.5, 2.0), 120)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1.4, 1]})
plots.plot_loss_contours(ax1, surface, levels=np.geomspace(0.02, 40, 12), minimum=W_DATA_BEST)
for radius in (0.5, 1.0, 1.5, 2.0, 2.5):
    circle = plt.Circle((0, 0), radius, fill=False, color="C3", lw=0.8, ls="--")
    ax1.add_patch(circle)
ax1.plot(minima[:, 0], minima[:, 1], color="C3", lw=2,
         label=r"minimum of $L + \frac{\lambda}{2}|w|^2$")
for lam in (0.3, 1, 3, 10):
    point = CURVATURE / (CURVATURE + lam) * W_DATA_BEST
    ax1.plot(*point, "o", color="C3")
    ax1.annotate(rf"$\lambda={lam}$", point, textcoords="offset points", xytext=(5, 5),
                 fontsize=8)
ax1.set(aspect="equal", title="Data loss (blue) + L2 penalty (red circles)")
ax1.legend(fontsize=8, loc="lower right")
ax2.semilogx(lambdas[1:], minima[1:, 0], label=r"$w_1$ (flat direction, curvature 1)")
ax2.semilogx(lambdas[1:], minima[1:, 1], label=r"$w_2$ (steep direction, curvature 10)")
ax2.set(xlabel=r"$\lambda$ (log scale)", ylabel="weight at the minimum",
        title="Weights shrink as the penalty grows")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Worked example
#
# `params = {"W1": [[1, -2], [0, 3]], "b1": [5, 5]}`, `reg = 0.1`:
#
# - loss $= \tfrac{0.1}{2}\,(1^2 + (-2)^2 + 0^2 + 3^2) = 0.05 \cdot 14 = 0.7$ (the bias 5 does
#   not count);
# - `dparams["W1"]` $= 0.1 \cdot$ `W1` $=$ `[[0.1, -0.2], [0, 0.3]]`;
# - `dparams["b1"] = [0, 0]`: every key of `params` gets an entry, zeros for the biases, so the
#   training loop can add `dparams[key]` to every gradient without checking names.

# %%
params_example = {"W1": np.array([[1.0, -2.0], [0.0, 3.0]]), "b1": np.array([5.0, 5.0])}
print(nnlib.l2_penalty(params_example, 0.1))

# %% [markdown]
# ### Exercise 3: `l2_penalty` (20 points)

# %% nbgrader={"grade_id": "l2_penalty", "solution": true}
def l2_penalty(params, reg):
    """The L2 penalty on the weights of a network, and its gradient.

    params: dict name -> array, e.g. {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}.
    reg: the strength lambda (float >= 0).
    Returns (loss, dparams):
        loss = 0.5 * reg * (sum of the squares of every array whose key starts with "W"),
               a float;
        dparams: a dict with every key of params: reg * W for the weights, zeros shaped like
                 the array for every other key (biases are not penalised).
    Do not modify params.

    Hint: one loop over params.items() with key.startswith("W") (about 8 lines).
    """
    ### BEGIN SOLUTION
    loss = 0.0
    dparams = {}
    for key, value in params.items():
        if key.startswith("W"):
            loss += 0.5 * reg * float(np.sum(value * value))
            dparams[key] = reg * value
        else:
            dparams[key] = np.zeros_like(value, dtype=float)
    return loss, dparams
    ### END SOLUTION


# %%
print(l2_penalty(params_example, 0.1))

# %% nbgrader={"grade_id": "test_l2_penalty", "grade": true, "points": 20}
check("l2_penalty", l2_penalty)
### BEGIN HIDDEN TESTS
check("l2_penalty", l2_penalty, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Early stopping
#
# The curves of Section 1 suggest the simplest regularizer of all: **stop training when the
# validation loss stops improving**, and keep the parameters of the best epoch. The validation
# curve is noisy, though, so "the loss went up once" is not a reason to stop. Two settings make
# the rule robust:
#
# - **patience**: how many epochs without improvement we tolerate before stopping;
# - **min_delta**: how much lower than the best loss so far a loss must be to count as an
#   improvement (tiny improvements, within the noise, do not reset the patience).
#
# Precisely: epoch 0 always improves; a later epoch $e$ improves when
# $\text{val}_e < \text{best so far} - \text{min\_delta}$. The **best epoch** is the last epoch that
# improved, and training should stop once $(\text{current epoch}) - (\text{best epoch}) \ge
# \text{patience}$. The training loop (`nnlib.train`) asks this question after every epoch with the
# validation losses so far, stops when the answer is yes, and then restores the parameters saved
# at the best epoch.
#
# Below, the curves of the Section 1 network trained once more, now with dropout (the reference
# `nnlib.dropout_forward`, `keep_prob = 0.5`). Dropout makes the validation curve noisy, with
# small dips and bumps, which is exactly the situation patience is for; and trained for 150
# epochs, this network too ends up overfitting. With patience 10: the best epoch (dot) and the
# epoch after which training stops (dashed line). The grey rest would never be run.

# %%
def stopping_point(stopper, val_losses, patience, min_delta=0.0):
    """Ask stopper after every epoch, as nnlib.train does: (best_epoch, stop_epoch or None)."""
    for epoch in range(len(val_losses)):
        best_epoch, should_stop = stopper(val_losses[:epoch + 1], patience, min_delta)
        if should_stop:
            return best_epoch, epoch
    return best_epoch, None


_, dropout_history, dropout_train_loss = train_small(keep_prob=0.5)
noisy_val = dropout_history.val_loss                  # 150 validation losses, one per epoch

best_epoch, stop_epoch = stopping_point(nnlib.early_stopping, noisy_val, 10)
fig, ax = plt.subplots(figsize=(8, 3.4))
ax.plot(noisy_val, color="0.75", lw=1.5, label="validation (not run)")
plots.plot_train_val_curves(ax, dropout_train_loss[:stop_epoch + 1],
                            noisy_val[:stop_epoch + 1], color="C0",
                            best_epoch=best_epoch, stop_epoch=stop_epoch)
ax.set(ylim=(0, 1.0), title=f"Patience 10: best epoch {best_epoch}, stop after epoch "
                            f"{stop_epoch}")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Worked example
#
# `val_losses = [1.0, 0.8, 0.79, 0.81, 0.80]`, `patience = 2`:
#
# - `min_delta = 0`: epochs 0 (1.0), 1 (0.8) and 2 (0.79) improve; 3 and 4 do not. Best epoch 2;
#   we are at epoch 4, and $4 - 2 = 2 \ge 2$: `(2, True)`. One epoch earlier, with the list
#   `[1.0, 0.8, 0.79, 0.81]`, it was $3 - 2 = 1$: `(2, False)`.
# - `min_delta = 0.05`: epoch 1 improves ($0.8 < 1.0 - 0.05$), but epoch 2 does not
#   ($0.79 \not< 0.8 - 0.05 = 0.75$). Best epoch 1, $4 - 1 = 3 \ge 2$: `(1, True)`.
#
# With `min_delta = 0` a tie is not an improvement, so the best epoch is the *first* epoch with
# the lowest loss.

# %%
val_example = [1.0, 0.8, 0.79, 0.81, 0.80]
print(nnlib.early_stopping(val_example, 2))
print(nnlib.early_stopping(val_example[:4], 2))
print(nnlib.early_stopping(val_example, 2, min_delta=0.05))

# %% [markdown]
# ### Exercise 4: `early_stopping` (20 points)

# %% nbgrader={"grade_id": "early_stopping", "solution": true}
def early_stopping(val_losses, patience, min_delta=0.0):
    """Decide whether to stop training, from the validation losses so far.

    val_losses: non-empty list (or 1-D array) of per-epoch validation losses, epoch 0 first.
    patience: int >= 0; min_delta: float >= 0.
    Returns (best_epoch, should_stop):
        epoch 0 improves; a later epoch improves when its loss < best loss so far - min_delta;
        best_epoch (int) is the last epoch that improved;
        should_stop (bool) is len(val_losses) - 1 - best_epoch >= patience.

    Hint: one loop keeping the best epoch and its loss (about 6 lines).
    """
    ### BEGIN SOLUTION
    best_epoch, best = 0, val_losses[0]
    for epoch in range(1, len(val_losses)):
        if val_losses[epoch] < best - min_delta:
            best_epoch, best = epoch, val_losses[epoch]
    return best_epoch, bool(len(val_losses) - 1 - best_epoch >= patience)
    ### END SOLUTION


# %%
print(early_stopping(val_example, 2))
print(early_stopping(val_example[:4], 2))
print(early_stopping(val_example, 2, min_delta=0.05))

# %% nbgrader={"grade_id": "test_early_stopping", "grade": true, "points": 20}
check("early_stopping", early_stopping)
### BEGIN HIDDEN TESTS
check("early_stopping", early_stopping, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Explore: patience and min_delta
#
# Your `early_stopping`, asked after every epoch of the noisy run above (150 epochs of
# validation losses). The dot is the epoch whose parameters would be restored, the dashed line
# the epoch after which training stops; the grey part is never run. The green dotted line is
# the best loss minus `min_delta`: a later epoch must get below it to count as an improvement.
#
# - Patience 1 or 2 stops at the first bump of the noisy curve, too early.
# - Larger patience costs epochs (time), and finds the later, lower dips; because the parameters
#   of the best epoch are restored, waiting longer never makes the result worse.
# - A larger `min_delta` ignores small improvements: the best epoch moves earlier, and with it
#   the stop.

# %%
ES_FIGSIZE = (9, 3.4)


def draw_early_stopping_background(fig):
    ax = fig.add_axes((0.08, 0.15, 0.9, 0.73))
    ax.plot(noisy_val, color="0.8", lw=1.5)
    ax.set(xlim=(-2, len(noisy_val) + 2), ylim=(0, 1.0), xlabel="epoch",
           ylabel="loss", title="Early stopping with your early_stopping")


es_background = plots.render_static_layer(draw_early_stopping_background, ES_FIGSIZE)


def draw_early_stopping(fig, patience, min_delta):
    best_epoch, stop_epoch = stopping_point(early_stopping, noisy_val, patience, min_delta)
    last = len(noisy_val) - 1 if stop_epoch is None else stop_epoch
    (ax,) = plots.add_static_layer(fig, es_background)
    plots.plot_train_val_curves(ax, dropout_train_loss[:last + 1], noisy_val[:last + 1],
                                color="C0", best_epoch=best_epoch, stop_epoch=stop_epoch)
    ax.hlines(noisy_val[best_epoch] - min_delta, best_epoch, last, colors="C2",
              linestyles=":", lw=2, label="best - min_delta")
    ax.legend(fontsize=8, loc="upper right")
    lowest = int(np.argmin(noisy_val))
    stop_text = ("never stops in 150 epochs" if stop_epoch is None
                 else f"stops after epoch {stop_epoch} ({stop_epoch + 1} epochs run)")
    return (f"patience {patience}, min_delta {min_delta:.3f}: {stop_text}; restores epoch "
            f"{best_epoch}, validation loss {noisy_val[best_epoch]:.3f} "
            f"(lowest of all 150 epochs: {noisy_val[lowest]:.3f} at epoch {lowest})")


es_panel = slider_panel(
    draw_early_stopping,
    {"patience": widgets.IntSlider(value=10, min=1, max=40, description="patience"),
     "min_delta": float_slider("min_delta", 0.0, 0.0, 0.1, 0.005)},
    figsize=ES_FIGSIZE, title="Early stopping: patience and min_delta")
es_panel

# %% [markdown]
# ## 5. Data augmentation: shifted digits
#
# The best cure for overfitting is more data. Often we can make more for free: transform the
# training examples in ways that do not change their label. A digit moved one pixel to the
# left is still the same digit, but to the network, which sees 64 numbers, it is a new input
# (most of its pixel values change). Training on randomly shifted copies, a different shift
# every time an image is used, tells the network "the exact position does not matter", which
# it could never learn from 100 fixed images. (Photos are augmented with flips, crops, rotations
# and colour changes in the same spirit; a flip would not do for digits, though: a mirrored 3
# is no longer a 3.)
#
# Shifting an image $I$ of shape $(H, W)$ down by $d_y$ and right by $d_x$ pixels:
#
# $$
# \text{out}[r, c] = \begin{cases} I[r - d_y,\ c - d_x] & \text{if } 0 \le r - d_y < H
# \text{ and } 0 \le c - d_x < W \\ 0 & \text{otherwise (vacated pixels are background).}
# \end{cases}
# $$
#
# Negative $d_y$ moves up, negative $d_x$ moves left. Here is one digit shifted by every
# $(d_y, d_x)$ from $-2$ to $2$:

# %%
digit_images, digit_labels = load_digit_images()             # (1797, 8, 8) in [0, 1]
sample = digit_images[22]
offsets = range(-2, 3)
fig, ax = plt.subplots(figsize=(4.6, 4.6))
shifted_samples = [nnlib.shift_image(sample, dy, dx) for dy in offsets for dx in offsets]
plots.plot_image_montage(ax, shifted_samples, ncols=5, row_labels=list(offsets),
                         col_labels=list(offsets))
ax.set(xlabel="dx (right)", ylabel="dy (down)",
       title=f"A {digit_labels[22]}, shifted (reference shift_image)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Worked example
#
# A 3x3 image shifted down by 1 and left by 1 (`dy=1, dx=-1`):
#
# ```
# [[1, 2, 3],        [[0, 0, 0],
#  [4, 5, 6],   ->    [2, 3, 0],
#  [7, 8, 9]]         [5, 6, 0]]
# ```
#
# `out[1, 0] = image[1 - 1, 0 + 1] = image[0, 1] = 2`; the top row and right column are
# vacated (0), and the bottom row and left column of the original fall off the edge. A shift by
# the full height or width (or more) leaves an all-zero image. Slicing does this without a loop:
# copy the block `image[rows_in, cols_in]` into `out[rows_out, cols_out]` of a `np.zeros_like`
# array.

# %%
tiny = np.arange(1.0, 10.0).reshape(3, 3)
print(nnlib.shift_image(tiny, 1, -1))

# %% [markdown]
# ### Exercise 5: `shift_image` (20 points)

# %% nbgrader={"grade_id": "shift_image", "solution": true}
def shift_image(image, dy, dx):
    """Shift one image, filling the vacated pixels with 0.

    image: array (H, W). dy: int, rows to move down (negative: up). dx: int, columns to move
    right (negative: left). Shifts of H, W or more give an all-zero image.
    Returns a new array (H, W), same dtype: out[r, c] = image[r - dy, c - dx] where that
    pixel exists, else 0. image is not modified.

    Hint: out = np.zeros_like(image), then one slice assignment
    out[max(dy, 0):H + min(dy, 0), ...] = image[max(-dy, 0):H + min(-dy, 0), ...]
    (about 6 lines, with a guard for shifts that move everything out).
    """
    ### BEGIN SOLUTION
    h, w = image.shape
    out = np.zeros_like(image)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out
    ### END SOLUTION


# %%
print(shift_image(tiny, 1, -1))

# %% nbgrader={"grade_id": "test_shift_image", "grade": true, "points": 20}
check("shift_image", shift_image)
### BEGIN HIDDEN TESTS
check("shift_image", shift_image, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# For training we need a whole batch shifted, each image by its **own** random $(d_y, d_x)$,
# both drawn uniformly from the integers $-m, \dots, m$ (`max_shift` $= m$). Note that
# `rng.integers(low, high)` excludes `high`: the integers from $-m$ to $m$ are
# `rng.integers(-m, m + 1)`. With $m = 1$ there are 9 possible shifts, including no shift at all.
#
# ### Exercise 6: `random_shift` (10 points)

# %% nbgrader={"grade_id": "random_shift", "solution": true}
def random_shift(images, max_shift, rng):
    """Shift every image of a batch by its own random offset.

    images: array (N, H, W). max_shift: int m >= 0. rng: a numpy Generator.
    Returns a new array (N, H, W): image i shifted by (dy_i, dx_i), each drawn uniformly from
    the integers -m..m, independently for every image (use your shift_image).

    Hint: draw all offsets at once with rng.integers(-max_shift, max_shift + 1, size=(N, 2)),
    then shift each image (about 3 lines).
    """
    ### BEGIN SOLUTION
    offsets = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
    out = np.zeros_like(images)
    for i, (dy, dx) in enumerate(offsets):
        out[i] = shift_image(images[i], dy, dx)
    return out
    ### END SOLUTION


# %%
batch = digit_images[:10]
shifted = random_shift(batch, 2, np.random.default_rng(0))
fig, ax = plt.subplots(figsize=(8, 2.2))
plots.plot_image_montage(ax, np.concatenate([batch, shifted]), ncols=10,
                         row_labels=["original", "your random_shift"])
ax.set_title("A batch of 10 digits, each shifted by its own (dy, dx), max_shift 2")
fig.tight_layout()
plt.show()

# %% nbgrader={"grade_id": "test_random_shift", "grade": true, "points": 10}
check("random_shift", random_shift)
### BEGIN HIDDEN TESTS
check("random_shift", random_shift, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Your regularizers at work
#
# Now your dropout and L2 penalty go inside `nnlib`'s network: `nnlib.Ops` holds the functions a
# model is built from, and `nnlib.Ops(dropout_forward=..., dropout_backward=..., l2_penalty=...)`
# is the standard set with those three replaced by yours. `MLP(..., keep_prob=p)` applies
# dropout after every hidden activation (in training only), and `nnlib.train(..., reg=lam)`
# adds your penalty to the loss and its gradient to every parameter's gradient.
#
# First, every combination of three keep probabilities and four penalty strengths on the small
# training set of Section 1, 40 epochs each (12 networks: this cell takes a few seconds).

# %%
my_ops = nnlib.Ops(dropout_forward=dropout_forward, dropout_backward=dropout_backward,
                   l2_penalty=l2_penalty)
KEEP_PROBS = [0.25, 0.5, 1.0]
REGS = [0.0, 0.001, 0.01, 0.1]
GRID_EPOCHS = 40
grid_runs = {}
for keep_prob in KEEP_PROBS:
    for reg in REGS:
        model, history, train_losses = train_small(my_ops, keep_prob=keep_prob, reg=reg,
                                                   epochs=GRID_EPOCHS)
        grid_runs[keep_prob, reg] = {"train": train_losses, "val": np.array(history.val_loss),
                                     "val_acc": history.val_acc[-1],
                                     "weight_norm": float(np.linalg.norm(model.params["W1"]))}
final_val = np.array([[grid_runs[k, r]["val"][-1] for r in REGS] for k in KEEP_PROBS])
final_gap = np.array([[grid_runs[k, r]["val"][-1] - grid_runs[k, r]["train"][-1]
                       for r in REGS] for k in KEEP_PROBS])

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, table, name in ((axes[0], final_val, "validation loss"),
                        (axes[1], final_gap, "gap: validation - training loss")):
    image = ax.imshow(table, cmap="viridis_r", vmin=0, vmax=1.6)
    for i in range(len(KEEP_PROBS)):
        for j in range(len(REGS)):
            ax.text(j, i, f"{table[i, j]:.2f}", ha="center", va="center",
                    color="white" if table[i, j] > 0.8 else "black", fontsize=9)
    ax.set(xticks=range(len(REGS)), xticklabels=[str(r) for r in REGS],
           yticks=range(len(KEEP_PROBS)), yticklabels=[str(k) for k in KEEP_PROBS],
           xlabel="L2 strength reg", ylabel="keep_prob", title=f"{name} after {GRID_EPOCHS} epochs")
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the right table first: the gap shrinks as the L2 penalty grows (to the right), and a
# little as the keep probability falls (upwards). The left table shows what we actually care
# about, the validation loss, and the price of regularizing: a small penalty (`reg = 0.001`)
# gives the lowest validation losses, but `reg = 0.1` makes the network **underfit**: it can no
# longer even fit its training set (training loss above 1), and the validation loss is far
# worse. Somewhere in between is the best setting; finding it is what the validation set is for.
#
# Be honest about the size of the effects: on 100 digits the differences between neighbouring
# cells are small, and another random seed would reorder some of them. L2 helps most here;
# dropout narrows the gap only when it drops many units. Dropout earns its reputation in much
# larger networks than this one.
#
# ### Explore: keep probability and L2 strength
#
# The same 12 trained networks, one at a time: training (dashed) and validation (solid) loss per
# epoch for the chosen setting, and in grey the unregularized network (`keep_prob` 1, `reg` 0).
# On the right the table of final validation losses, with the chosen setting framed.

# %%
REG_FIGSIZE = (10, 3.6)


def draw_regularization_background(fig):
    ax1 = fig.add_axes((0.07, 0.14, 0.5, 0.76))
    base = grid_runs[1.0, 0.0]
    ax1.plot(base["val"], color="0.7", lw=1.5)
    ax1.plot(base["train"], color="0.7", lw=1.2, ls="--")
    ax1.set(xlim=(-1, GRID_EPOCHS), ylim=(0, 2.4), xlabel="epoch", ylabel="loss",
            title="Training (dashed) and validation (solid) loss; grey: no regularization")
    ax2 = fig.add_axes((0.68, 0.14, 0.3, 0.76))
    ax2.imshow(final_val, cmap="viridis_r", vmin=0, vmax=1.6)
    for i in range(len(KEEP_PROBS)):
        for j in range(len(REGS)):
            ax2.text(j, i, f"{final_val[i, j]:.2f}", ha="center", va="center", fontsize=8,
                     color="white" if final_val[i, j] > 0.8 else "black")
    ax2.set(xticks=range(len(REGS)), xticklabels=[str(r) for r in REGS],
            yticks=range(len(KEEP_PROBS)), yticklabels=[str(k) for k in KEEP_PROBS],
            xlabel="reg", ylabel="keep_prob", title="final validation loss")


reg_background = plots.render_static_layer(draw_regularization_background, REG_FIGSIZE)


def draw_regularization(fig, keep_prob, reg):
    run = grid_runs[keep_prob, reg]
    ax1, ax2 = plots.add_static_layer(fig, reg_background)
    plots.plot_train_val_curves(ax1, run["train"], run["val"], color="C3",
                                label=f"keep_prob {keep_prob}, reg {reg}")
    ax1.legend(fontsize=8, loc="upper right")
    i, j = KEEP_PROBS.index(keep_prob), REGS.index(reg)
    ax2.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="C3", lw=3))
    base = grid_runs[1.0, 0.0]
    return (f"keep_prob {keep_prob}, reg {reg}: after {GRID_EPOCHS} epochs training loss "
            f"{run['train'][-1]:.3f}, validation loss {run['val'][-1]:.3f} (gap "
            f"{run['val'][-1] - run['train'][-1]:.3f}), validation accuracy "
            f"{run['val_acc']:.3f}, |W1| = {run['weight_norm']:.1f}; without regularization: "
            f"gap {base['val'][-1] - base['train'][-1]:.3f}, |W1| = {base['weight_norm']:.1f}")


reg_panel = slider_panel(
    draw_regularization,
    {"keep_prob": widgets.SelectionSlider(options=KEEP_PROBS, value=0.5,
                                          description="keep_prob"),
     "reg": widgets.SelectionSlider(options=REGS, value=0.001, description="L2 strength reg")},
    figsize=REG_FIGSIZE, title="Dropout and L2 on 100 training digits")
reg_panel

# %% [markdown]
# ### Everything together
#
# Finally all four of your regularizers in one training run, against the unregularized network
# of Section 1 (150 epochs, no stopping) and against early stopping alone:
#
# - your dropout with `keep_prob = 0.9` and your L2 penalty with `reg = 0.001` (mild settings:
#   the augmentation below already makes the task harder);
# - augmentation with your `random_shift`: `nnlib.train` calls `augment(X_batch, rng)` on every
#   training batch; our digits are rows of 64 pixels, so we reshape each batch to images
#   `(B, 8, 8)`, shift by at most 1 pixel, and flatten back to `(B, 64)`;
# - your `early_stopping` with patience 20, which also restores the best epoch's parameters.
#
# The test set, untouched so far, gives the final verdict.

# %%
def shift_batch(X_batch, rng):
    """Augmentation for nnlib.train: every row a digit, shifted by up to 1 pixel."""
    images = X_batch.reshape(len(X_batch), 8, 8)
    return random_shift(images, 1, rng).reshape(len(X_batch), 64)


es_model, es_history, _ = train_small(patience=20, stopper=early_stopping)
reg_model, reg_history, reg_train_loss = train_small(my_ops, keep_prob=0.9, reg=0.001,
                                                     augment=shift_batch, patience=20,
                                                     stopper=early_stopping)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
plots.plot_train_val_curves(ax1, plain_train_loss, plain_history.val_loss, color="C0",
                            label="no regularization")
plots.plot_train_val_curves(ax1, reg_train_loss, reg_history.val_loss, color="C3",
                            label="all four", best_epoch=reg_history.best_epoch,
                            stop_epoch=reg_history.stopped_epoch)
ax1.set(ylim=(0, 1.6), title="Loss per epoch")
ax1.legend(fontsize=8, loc="upper right")
plots.plot_train_val_curves(ax2, plain_history.train_acc, plain_history.val_acc, color="C0",
                            ylabel="accuracy", label="no regularization")
plots.plot_train_val_curves(ax2, reg_history.train_acc, reg_history.val_acc, color="C3",
                            ylabel="accuracy", label="all four")
ax2.set(ylim=(0.5, 1.02), title="Accuracy per epoch")
ax2.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()

for name, model, history in (("no regularization", plain_model, plain_history),
                             ("early stopping only", es_model, es_history),
                             ("all four", reg_model, reg_history)):
    epochs = (f"stopped after epoch {history.stopped_epoch}, restored epoch {history.best_epoch}"
              if history.stopped_epoch is not None else "all 150 epochs")
    print(f"{name:20s} test accuracy {model.accuracy(X_test, y_test):.3f}, test loss "
          f"{model.loss(X_test, y_test):.3f}, training loss {model.loss(X_small, y_small):.3f} "
          f"({epochs})")

# %% [markdown]
# What the curves and the numbers say:
#
# - The regularized network's training and validation curves stay much closer together: it
#   never drives its training loss to 0, and its validation loss does not climb.
# - It learns more **slowly**: every step sees shifted digits, a thinned network and shrinking
#   weights. Its accuracy lags behind for dozens of epochs, and early stopping's patience gives
#   it the time it needs.
# - On the test digits it beats the unregularized network clearly in loss (it is no longer
#   confidently wrong) and by a couple of points in accuracy. **Early stopping alone** already
#   captures much of that: it is the cheapest regularizer and should almost always be on. The
#   other three add a little on top here; with more data, larger networks and longer training
#   their share grows.
#
# With only 100 examples no regularizer can conjure up the accuracy of training on all 1797
# digits; regularization makes the most of the data there is.
#
# ## Summary
#
# - **Overfitting**: the training loss keeps falling while the validation loss turns up; the
#   **gap** between them grows. Small training sets and large networks make it worse. Always
#   watch both curves.
# - **Inverted dropout** keeps each unit with probability $p$ and divides the kept ones by $p$
#   (`mask = (rng.random(x.shape) < p) / p`), so the expected output is unchanged and
#   evaluation mode is simply `out = x`. Its backward pass multiplies by the same mask.
# - **L2 / weight decay** adds $\frac{\lambda}{2}\sum W^2$ to the loss and $\lambda W$ to the
#   gradient of every weight; with SGD every step shrinks the weights by $1 - \eta\lambda$.
#   Biases are not penalised. It gives up first the weights the data cares least about.
# - **Early stopping** watches the validation loss: stop after `patience` epochs without an
#   improvement larger than `min_delta`, and restore the parameters of the best epoch.
# - **Data augmentation** creates new training examples by transformations that keep the label,
#   such as shifting digits by a pixel or two.
# - Too much regularization **underfits**: choose its strength on the validation set, and
#   report the final result on the test set.
#
# Next, in notebook 06: a way to need much less data in the first place, by starting from a
# network someone else has already trained.
