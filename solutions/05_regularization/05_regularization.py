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
# - implement **inverted dropout**, explain why it divides by the keep probability, how it
#   differs from classic dropout, and why it is switched off at evaluation time;
# - add an **L2 penalty** to the loss and its gradient, leaving the biases free, and tell it
#   apart from **weight decay**, which it equals under SGD but not under Adam;
# - decide when to stop training with **early stopping** (patience and a minimum improvement);
# - make more training data for free with **data augmentation**: shifted copies of digit images;
# - plug your functions into `nnlib`, watch them narrow the gap between training and
#   validation, and measure on several training sets when regularization pays off.
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
# training digits (of 1797), a hidden layer of 128 units (the cell counts the parameters: many
# times more than there are training examples), and 150 epochs of Adam. After each epoch, a
# callback evaluates the training set in evaluation mode (`model.loss`), so that both curves
# measure the same thing.

# %%
X_digits, y_digits = load_digits()
X_train_all, y_train_all, X_val, y_val, X_test, y_test = nnlib.train_val_test_split(
    X_digits, y_digits, 0.25, 0.35, np.random.default_rng(0))
X_small, y_small = X_train_all[:100], y_train_all[:100]        # the small training set
print(f"all digits {X_digits.shape}: training {X_small.shape} (of {X_train_all.shape}), "
      f"validation {X_val.shape}, test {X_test.shape}")


def train_small(ops=None, keep_prob=1.0, reg=0.0, epochs=150, augment=None, patience=None,
                stopper=nnlib.early_stopping, X_train=X_small, y_train=y_small, seed=1,
                curves=True):
    """A fresh 64-128-10 network trained with Adam on 100 digits (the small set by default).

    Returns (model, history, train_losses): train_losses[e] is the evaluation-mode loss on the
    training set after epoch e (history.train_loss is measured with dropout and penalty on).
    curves=False records no per-epoch curves (faster): no train_losses, no training accuracy,
    and validation losses only when early stopping needs them.
    """
    model = nnlib.MLP.create([64, 128, 10], np.random.default_rng(seed), keep_prob=keep_prob,
                             ops=ops)
    train_losses = []
    validate = curves or patience is not None
    history = nnlib.train(
        model, X_train, y_train, X_val if validate else None, y_val if validate else None,
        rng=np.random.default_rng(seed + 1), epochs=epochs, batch_size=20,
        update_rule=nnlib.adam, optim_config={"learning_rate": 1e-2}, reg=reg, augment=augment,
        patience=patience, early_stopping=stopper, track_train_acc=curves,
        callback=(lambda epoch, h: train_losses.append(model.loss(X_train, y_train)))
        if curves else None)
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
num_params = sum(array.size for array in plain_model.params.values())
print(f"{num_params:,} parameters (W1 64x128, b1 128, W2 128x10, b2 10), "
      f"{num_params / len(X_small):.0f} per training example")
best = int(np.argmin(plain_history.val_loss))
print(f"lowest validation loss {plain_history.val_loss[best]:.3f} after epoch {best}; after "
      f"epoch {plain_history.epochs - 1}: {plain_history.val_loss[-1]:.3f} (training loss "
      f"{plain_train_loss[-1]:.5f})")
train_acc = plain_history.train_acc
first_perfect = next(e for e in range(len(train_acc)) if min(train_acc[e:]) == 1.0)
print(f"training accuracy 100 % from epoch {first_perfect} on; validation accuracy "
      f"{plain_history.val_acc[best]:.3f} at epoch {best}, at most "
      f"{max(plain_history.val_acc):.3f}, {plain_history.val_acc[-1]:.3f} at the end")
val_probs = nnlib.softmax(plain_model.predict_scores(X_val))
wrong = np.argmax(val_probs, axis=1) != y_val
true_prob = np.median(val_probs[wrong, y_val[wrong]])
print(f"at the end: {wrong.sum()} of {len(y_val)} validation digits wrong; for those, the "
      f"median probability of the network's answer is {np.median(val_probs[wrong].max(axis=1)):.2f}"
      f", of the true class {true_prob:.3f} (cross-entropy -log {true_prob:.3f} = "
      f"{-np.log(true_prob):.1f} each)")

# %% [markdown]
# Read the curves from left to right:
#
# - In the first epochs both losses fall together, until the validation loss reaches its
#   lowest point (the epoch is printed): the network learns what digits have in common, and that
#   helps on every digit.
# - Then the training loss keeps falling towards 0, with 100 % training accuracy, while the
#   validation loss turns **up**. The network now learns the peculiarities of its 100 examples,
#   and it becomes ever more *confident*, also where it is wrong: the last printed line gives,
#   for the validation digits it gets wrong, how sure it is of its wrong answer and how little
#   probability is left for the true class. Cross-entropy charges $-\log$ of that small
#   probability for each of them.
# - Validation accuracy hardly moves after that epoch, far below the 100 % in training (the
#   third printed line). Loss and accuracy tell different stories here: the accuracy only asks
#   whether the highest score is the right one, the loss also asks how sure the network was.
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
# **The scale problem.** Say a unit outputs $x_i$. In training, with dropout, the next layer
# receives $x_i$ with probability $p$ and 0 otherwise: $p\,x_i$ on average. At test time we want
# the network's best prediction, not a random one, so every unit is on, and the next layer
# would suddenly receive $x_i$, $1/p$ times more than it was trained with. Test and training
# must agree on average, and there are two ways to arrange that. Write $b_i$ for a random
# number that is 1 with probability $p$ and 0 otherwise, drawn afresh for every unit, example
# and step:
#
# | | in training | at test time | average in training |
# |---|---|---|---|
# | **classic dropout** (the original paper) | $\text{out}_i = b_i\, x_i$ | $\text{out}_i = p\, x_i$ | $p\, x_i$ |
# | **inverted dropout** | $\text{out}_i = b_i\, x_i / p$ | $\text{out}_i = x_i$ | $x_i$ |
#
# In both, the test-time output equals the training average. Classic dropout leaves training
# alone and shrinks the outputs at test time; inverted dropout enlarges the kept outputs in
# training, $\mathbb E[\text{out}_i] = p \cdot x_i / p = x_i$, and at test time does nothing at
# all. Written as a multiplication by a **mask** $m$ of the same shape as $x$:
#
# $$
# m_i = \frac{b_i}{p} = \begin{cases} 1/p & \text{with probability } p \\ 0 & \text{with
# probability } 1-p \end{cases}, \qquad \text{out} = x \odot m \quad \text{(training)}, \qquad
# \text{out} = x \quad \text{(test)} .
# $$
#
# **Why every library uses the inverted form** (PyTorch's `nn.Dropout`, Keras' `Dropout`;
# their parameter is the probability of *dropping* a unit, $1 - p$):
#
# - The network used at test time, and shipped to wherever it makes predictions, is just the
#   plain network. It contains nothing about dropout and need not know $p$; with classic
#   dropout every layer that was trained with dropout must remember to multiply by its $p$.
# - Forgetting that multiplication is a silent bug: the network still runs, but every layer
#   gets inputs $1/p$ times too large, and its predictions are off without an error message.
# - All the extra work happens in training, where a mask is drawn anyway; one division by $p$
#   costs nothing there. And $p$ may differ from layer to layer, or change during training,
#   without touching the test-time network.
#
# **Evaluation mode.** Dropout is switched off at test time: `out = x`. Every model has these
# two modes; `nnlib`'s `MLP` applies dropout only in `loss_and_grads` (training), never in
# `predict`.
#
# The picture: one row of 12 activations $x$ (black marks), $p = 0.5$, classic dropout on top
# and inverted dropout below, with the same random choice of kept units in both. From the left:
# one training step, the average over 10,000 training steps, and the test-time output.

# %%
KEEP_DEMO = 0.5
rng = np.random.default_rng(3)
activations = np.round(rng.uniform(0.5, 3.0, size=(1, 12)), 1)
units = np.arange(12)
inverted_step, mask = nnlib.dropout_forward(activations, KEEP_DEMO, True, rng)
many, _ = nnlib.dropout_forward(np.repeat(activations, 10000, axis=0), KEEP_DEMO, True, rng)
kept = mask[0] > 0
versions = {   # name: (one training step, average over 10,000 steps, test-time output)
    "classic": (activations[0] * kept, (many * KEEP_DEMO).mean(axis=0), KEEP_DEMO * activations[0]),
    "inverted": (inverted_step[0], many.mean(axis=0), activations[0]),
}
fig, axes = plt.subplots(2, 3, figsize=(12, 4.8), sharex=True, sharey=True)
for row, (name, outputs) in zip(axes, versions.items()):
    titles = ("one training step", "average of 10,000 training steps", "test time")
    for ax, values, title in zip(row, outputs, titles):
        ax.bar(units, values, color="C0" if name == "inverted" else "C1")
        ax.plot(units, activations[0], "k_", ms=12, mew=2, label="x")
        ax.set(title=f"{name}: {title}", ylim=(0, 6.2))
    row[0].plot(units[~kept], np.zeros(np.sum(~kept)), "rx", label="dropped")
    row[0].legend(fontsize=7, loc="upper left")
    row[0].set_ylabel("output")
for ax in axes[1]:
    ax.set(xlabel="unit", xticks=units[::2])
fig.tight_layout()
plt.show()
for name, (_, average, test) in versions.items():
    print(f"{name:8s}: training average / x = {np.mean(average / activations[0]):.3f}, "
          f"test output / x = {np.mean(test / activations[0]):.3f}")

# %% [markdown]
# The red crosses mark the dropped units, the same ones in both rows; inverted dropout doubles
# the kept ones ($1/p = 2$), classic dropout keeps them as they are. In each row the average
# over many training steps (middle) matches the test-time output (right): half of $x$ for
# classic dropout, $x$ itself for inverted dropout (the printout gives the ratios). (One call on
# 10,000 copies of the row draws 10,000 independent masks at once.)
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
print("rng.random(x.shape):", np.random.default_rng(0).random(x_example.shape))
print(nnlib.dropout_forward(x_example, 0.5, True, np.random.default_rng(0)))
print(nnlib.dropout_forward(x_example, 0.5, False, np.random.default_rng(0)))

# %% [markdown]
# ### Exercise 1: `dropout_forward` (20 points)
#
# Inverted dropout, as in the worked example. In training, draw the random numbers with
# exactly **one** call `rng.random(x.shape)` and keep unit $i$ where its number is below
# `keep_prob` (the checker replays your generator, so it must see the same call); return the
# output and the mask $m$ (zeros and $1/p$) as the cache. In evaluation mode return `x`
# unchanged and `None`, without using `rng`. About 4 lines.
#
# <details><summary>Hint 1: two cases</summary>
#
# Deal with evaluation mode first and return at once: then `rng` is certainly not touched, and
# the rest of the function is only about training.
#
# </details>
#
# <details><summary>Hint 2: from random numbers to a mask</summary>
#
# Comparing an array with a number gives an array of `True`/`False`: `rng.random(x.shape) <
# keep_prob` is `True` with probability `keep_prob`, independently for every entry. In
# arithmetic, `True` counts as 1 and `False` as 0.
#
# </details>
#
# <details><summary>Hint 3: the division by keep_prob</summary>
#
# Dividing that boolean array by `keep_prob` gives $1/p$ where it is `True` and 0 elsewhere:
# exactly the mask $m$ of the formula. The output is `x` times the mask, elementwise.
#
# </details>

# %% nbgrader={"grade_id": "dropout_forward", "solution": true}
def dropout_forward(x, keep_prob, train, rng):
    """Inverted dropout.

    x: activations, any shape, e.g. (N, H). keep_prob: probability p of keeping a unit (0, 1].
    train: True in training (drop), False in evaluation (do nothing).
    rng: a numpy Generator; in training exactly one rng.random(x.shape) call, otherwise unused.
    Returns (out, cache), out shaped like x:
        training: out = x * mask, cache = mask (shaped like x: 1/keep_prob for kept units,
                  0 for dropped ones);
        evaluation: out = x, cache = None.
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
#
# The gradient with respect to the input of `dropout_forward`, from the upstream gradient and
# the cache. About 2 lines.
#
# <details><summary>Hint 1: what the forward pass was</summary>
#
# In training, `out = x * mask` with a mask that does not depend on `x`: for every entry,
# "multiply by a constant". What does the chain rule make of $\text{out}_i = m_i x_i$?
#
# </details>
#
# <details><summary>Hint 2: evaluation mode</summary>
#
# `cache is None` means the forward pass was `out = x`, the identity: its gradient passes
# through unchanged.
#
# </details>

# %% nbgrader={"grade_id": "dropout_backward", "solution": true}
def dropout_backward(dout, cache):
    """Gradient of inverted dropout.

    dout: upstream gradient, shaped like the forward output. cache: the mask from
    dropout_forward (same shape), or None if the forward pass was in evaluation mode.
    Returns dx, shaped like dout: the gradient of the loss with respect to the forward input.
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
# ## 3. The L2 penalty
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
# decay**. A weight survives only if the data keeps pushing it back. (That equality holds for
# plain SGD; under Adam the two differ, as the end of this section shows.)
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
#
# The penalty $\frac{\lambda}{2}\sum W^2$ over every weight array of `params` (the keys
# starting with `"W"`), as a Python float, and its gradient: a new dict with an entry for
# **every** key of `params`. About 8 lines.
#
# <details><summary>Hint 1: one pass over the dict</summary>
#
# Loop over `params.items()`; `key.startswith("W")` tells a weight from a bias. Start the loss
# at 0.0 and an empty dict for the gradients, and add to both in the loop.
#
# </details>
#
# <details><summary>Hint 2: the two kinds of entries</summary>
#
# A weight adds half of `reg` times the sum of its squared entries to the loss, and its gradient
# is the derivative of that, the formula above. Any other array adds nothing, and its gradient
# is `np.zeros_like(value, dtype=float)`.
#
# </details>
#
# <details><summary>Hint 3: types</summary>
#
# `np.sum(...)` returns a NumPy number: wrap the loss in `float(...)`. Write into a new dict,
# never into `params`.
#
# </details>

# %% nbgrader={"grade_id": "l2_penalty", "solution": true}
def l2_penalty(params, reg):
    """The L2 penalty on the weights of a network, and its gradient.

    params: dict name -> array, e.g. {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)};
    the weights are the arrays whose key starts with "W".
    reg: the strength lambda (float >= 0).
    Returns (loss, dparams): loss, a float, the penalty 0.5 * reg * (sum of the squares of
    every weight); dparams, a new dict with every key of params, each the gradient of the
    penalty with respect to that array (same shape). Biases are not penalised.
    params is not modified.
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
# ### L2 penalty or weight decay? The same only for plain SGD
#
# With plain SGD, adding $\lambda W$ to the gradient shrinks every weight by the factor
# $1 - \eta\lambda$ per step: "L2 penalty" and "weight decay" are two names for one thing. Not
# so with Adam, which trains every network in this notebook. Adam divides each parameter's step
# by $\sqrt{\hat v}$, the root mean square of that parameter's recent gradients (notebook 04).
# With an L2 penalty, $\lambda w$ is part of the gradient, so it is divided too; roughly (the
# averages $m$ and $v$ mix the two parts),
#
# $$
# w \leftarrow w - \eta\, \frac{\hat m_\text{data} + \lambda w}{\sqrt{\hat v} + \varepsilon}
# \qquad\Longrightarrow\qquad \text{decay per step} \approx \frac{\eta\lambda}{\sqrt{\hat v}} .
# $$
#
# A weight whose data gradients are large has a large $\sqrt{\hat v}$: its decay is divided by
# it, and it is hardly regularized. A weight whose data gradients are small is decayed far more.
# How hard the penalty pulls now depends on the size of each weight's gradients, which is not
# what $\lambda$ was meant to say.
#
# **Decoupled weight decay** (AdamW, Loshchilov and Hutter, 2019) keeps the two apart: Adam's
# step sees only the data gradient, and the decay is applied to the weight directly,
#
# $$
# w \leftarrow w - \eta \left( \frac{\hat m}{\sqrt{\hat v} + \varepsilon} + \lambda w \right),
# $$
#
# so every weight shrinks by the factor $1 - \eta\lambda$ per step, as with SGD, whatever its
# gradients. Notebook 07 has you implement it as `adamw`.
#
# The picture: two weights that start at 1, each with a data gradient that flips its sign
# every step (so on average the data pulls them nowhere), one of size 10 and one of size 0.1.
# Only the regularizer pulls them towards 0, with the same $\lambda$ in both versions: as an
# L2 penalty inside `nnlib.adam`'s gradient, and as decoupled decay after its step. On the
# right the decay per step of each weight, $\eta\lambda/\sqrt{\hat v}$ for the L2 penalty and
# $\eta\lambda$ for decoupled decay.

# %%
DECAY_LR, DECAY_LAMBDA, DECAY_STEPS = 0.01, 0.01, 3000
GRADIENT_SIZES = np.array([10.0, 0.1])                 # weight 0: large, weight 1: small


def decay_run(decoupled):
    """Two weights under Adam with a sign-flipping data gradient: (path, decay per step)."""
    w, config = np.ones(2), {"learning_rate": DECAY_LR}
    path, decay = [w], []
    for t in range(DECAY_STEPS):
        data_grad = GRADIENT_SIZES * (-1.0) ** t
        if decoupled:                                  # Adam on the data, then the decay
            next_w, config = nnlib.adam(w, data_grad, config)
            w = next_w - DECAY_LR * DECAY_LAMBDA * w
            decay.append(np.full(2, DECAY_LR * DECAY_LAMBDA))
        else:                                          # the penalty inside the gradient
            w, config = nnlib.adam(w, data_grad + DECAY_LAMBDA * w, config)
            v_hat = config["v"] / (1 - config["beta2"] ** config["t"])
            decay.append(DECAY_LR * DECAY_LAMBDA / (np.sqrt(v_hat) + config["epsilon"]))
        path.append(w)
    return np.array(path), np.array(decay)


decay_runs = {"L2 penalty under Adam": decay_run(False),
              "decoupled weight decay (AdamW)": decay_run(True)}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.6))
for (name, (path, decay)), style in zip(decay_runs.items(), ("-", "--")):
    for k, size in enumerate(GRADIENT_SIZES):
        line = {"color": f"C{k}", "ls": style, "lw": 3 if k == 0 else 1.5,
                "label": f"{name}, gradients of size {size:g}"}
        ax1.plot(path[:, k], **line)
        ax2.semilogy(np.arange(1, DECAY_STEPS + 1), decay[:, k], **line)
ax1.set(xlabel="step", ylabel="weight", ylim=(0, 1.05), title="Two weights, the same λ")
ax2.set(xlabel="step", ylabel="decay per step (log scale)", title="How hard the decay pulls")
ax1.legend(fontsize=7, loc="lower left")
fig.tight_layout()
plt.show()
for name, (path, decay) in decay_runs.items():
    print(f"{name:31s}: after {DECAY_STEPS} steps the weights are {path[-1, 0]:.3f} "
          f"(gradients of size {GRADIENT_SIZES[0]:g}) and {path[-1, 1]:.3f} (size "
          f"{GRADIENT_SIZES[1]:g}); decay per step at the end {decay[-1, 0]:.1e} and "
          f"{decay[-1, 1]:.1e}")
print(f"(1 - learning_rate * lambda) ** {DECAY_STEPS} = "
      f"{(1 - DECAY_LR * DECAY_LAMBDA) ** DECAY_STEPS:.3f}")

# %% [markdown]
# Under decoupled decay (dashed) the two weights shrink alike, by about the factor
# $(1 - \eta\lambda)^t$ (printed; the small rest is Adam's own steps on the flipping gradient),
# whatever their gradients: the thin orange dashed curve lies on the thick blue one. As an L2 penalty under Adam (solid) the same $\lambda$ barely moves
# the weight with large gradients and drives the one with small gradients almost to 0.
#
# In a real network the gradients of different weights differ by orders of magnitude. The
# cell below trains the Section 1 network with Adam and `reg = 0.001` for 40 epochs, keeps
# Adam's state, and measures $\sqrt{\hat v}$ for every weight of `W1`. Between the 5th and the
# 95th percentile it varies by the printed factor, and so, under the L2 penalty, does the pull
# of the decay. The networks of this notebook are all trained this way, with Adam and an L2
# penalty: keep in mind that `reg` then means a different strength for every weight.

# %%
adam_states = {}                                       # parameter shape -> its Adam config


def adam_keeping_state(w, dw, config):
    """nnlib.adam, remembering each parameter's config (every shape here is different)."""
    next_w, config = nnlib.adam(w, dw, config)
    adam_states[w.shape] = config
    return next_w, config


state_model = nnlib.MLP.create([64, 128, 10], np.random.default_rng(1))
nnlib.train(state_model, X_small, y_small, rng=np.random.default_rng(2), epochs=40,
            batch_size=20, update_rule=adam_keeping_state,
            optim_config={"learning_rate": 1e-2}, reg=1e-3, track_train_acc=False)
w1_state = adam_states[state_model.params["W1"].shape]
w1_rms = np.sqrt(w1_state["v"] / (1 - w1_state["beta2"] ** w1_state["t"]))
low, high = np.percentile(w1_rms, [5, 95])
print(f"sqrt(v_hat) of W1's {w1_rms.size:,} weights: 5th percentile {low:.1e}, 95th "
      f"percentile {high:.1e}, a factor of {high / low:.0f}")

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
#
# The rule above, for the validation losses of the epochs run so far: return the best epoch
# (an `int`) and whether to stop (a `bool`). About 6 lines.
#
# <details><summary>Hint 1: what to remember while reading the list</summary>
#
# Read the losses once, from epoch 0 on, and keep two things: the best loss so far and the
# epoch it came from. Epoch 0 is where both start.
#
# </details>
#
# <details><summary>Hint 2: what counts as an improvement</summary>
#
# A later epoch replaces the best only when its loss is **strictly** below the best so far
# minus `min_delta`. So with `min_delta = 0` a tie does not count, and the best epoch stays the
# first one with the lowest loss.
#
# </details>
#
# <details><summary>Hint 3: the answer</summary>
#
# The current epoch is the last one in the list, `len(val_losses) - 1`. Stop when it is at
# least `patience` epochs after the best one. Wrap the comparison in `bool(...)` if it is a
# NumPy boolean.
#
# </details>

# %% nbgrader={"grade_id": "early_stopping", "solution": true}
def early_stopping(val_losses, patience, min_delta=0.0):
    """Decide whether to stop training, from the validation losses so far.

    val_losses: non-empty list (or 1-D array) of per-epoch validation losses, epoch 0 first.
    patience: int >= 0; min_delta: float >= 0.
    Returns (best_epoch, should_stop): best_epoch (int), the last epoch that improved (epoch 0
    always does; a later one when its loss < best loss so far - min_delta); should_stop
    (bool), True when the current (last) epoch is at least patience epochs after best_epoch.
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
# - Patience 1 or 2 stops at one of the first bumps of the noisy curve, too early.
# - Larger patience costs epochs (time), and can find later, lower dips. Because the parameters
#   of the best epoch are restored, waiting longer never makes the restored validation loss
#   worse (with `min_delta = 0`).
# - A larger `min_delta` ignores small improvements: they no longer reset the patience, so
#   training can stop sooner, with an earlier restored epoch (in the table only the largest
#   `min_delta` changes anything).
#
# The table printed above the panel gives these numbers for a few settings.

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


lowest = int(np.argmin(noisy_val))
print(f"lowest validation loss of all 150 epochs: {noisy_val[lowest]:.3f}, at epoch {lowest}")
print("patience  min_delta  epochs run  restored epoch  its validation loss")
for patience, min_delta in [(1, 0.0), (2, 0.0), (5, 0.0), (10, 0.0), (20, 0.0), (40, 0.0),
                            (10, 0.01), (10, 0.02), (10, 0.05)]:
    best_epoch, stop_epoch = stopping_point(early_stopping, noisy_val, patience, min_delta)
    run = len(noisy_val) if stop_epoch is None else stop_epoch + 1
    print(f"{patience:8d}  {min_delta:9.2f}  {run:10d}  {best_epoch:14d}  "
          f"{noisy_val[best_epoch]:19.3f}")

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
# the full height or width (or more) leaves an all-zero image.

# %%
tiny = np.arange(1.0, 10.0).reshape(3, 3)
print(nnlib.shift_image(tiny, 1, -1))

# %% [markdown]
# ### Exercise 5: `shift_image` (20 points)
#
# The shift of the formula above, for any $d_y$, $d_x$ (positive, negative, zero, or larger
# than the image), returning a new image. A loop over pixels works but is slow; array slices
# do it in one assignment. About 6 lines.
#
# <details><summary>Hint 1: start from the background</summary>
#
# Begin with an all-zero image of the same shape and dtype (`np.zeros_like(image)`). Then the
# vacated pixels are already right, and what is left is to copy the block of pixels that
# stays inside the frame.
#
# </details>
#
# <details><summary>Hint 2: one axis at a time</summary>
#
# Rows only, $H$ rows. Moving down by $d_y \ge 0$: output rows $d_y, \dots, H-1$ receive input
# rows $0, \dots, H-1-d_y$. Moving up ($d_y < 0$): output rows $0, \dots, H-1+d_y$ receive input
# rows $-d_y, \dots, H-1$. Columns work the same way with $d_x$. Check both cases on the
# worked example.
#
# </details>
#
# <details><summary>Hint 3: both directions in one slice</summary>
#
# `max(dy, 0)` is $d_y$ when moving down and 0 when moving up; `H + min(dy, 0)` is $H$ when
# moving down and $H + d_y$ when moving up. Such expressions give the start and end of the
# output rows, and the same with `-dy` gives the input rows. A shift of $H$ or more makes these
# ends wrong (a negative slice end counts from the back), so return the zeros at once when
# `abs(dy) >= H` or `abs(dx) >= W`.
#
# </details>

# %% nbgrader={"grade_id": "shift_image", "solution": true}
def shift_image(image, dy, dx):
    """Shift one image, filling the vacated pixels with 0.

    image: array (H, W). dy: int, rows to move down (negative: up). dx: int, columns to move
    right (negative: left). Shifts of H, W or more give an all-zero image.
    Returns a new array (H, W), same dtype: out[r, c] = image[r - dy, c - dx] where that
    pixel exists, else 0. image is not modified.
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
# `rng.integers(-m, m + 1)`. With $m = 1$ there are $3 \times 3 = 9$ possible shifts, including
# no shift at all.
#
# ### Exercise 6: `random_shift` (10 points)
#
# Every image of the batch shifted by its own random $(d_y, d_x)$, with your `shift_image`; any
# order of drawing the random numbers is fine, as long as they all come from `rng`. About 3
# lines.
#
# <details><summary>Hint 1: one draw per image</summary>
#
# Two independent integers per image, each from $-m$ to $m$. `rng.integers(low, high,
# size=(N, 2))` draws all of them at once: row $i$ is the $(d_y, d_x)$ of image $i$.
#
# </details>
#
# <details><summary>Hint 2: the output</summary>
#
# Start from `np.zeros_like(images)` and fill in image $i$ with `shift_image(images[i], dy,
# dx)` in a loop over the rows of offsets (`zip` or `enumerate` help).
#
# </details>

# %% nbgrader={"grade_id": "random_shift", "solution": true}
def random_shift(images, max_shift, rng):
    """Shift every image of a batch by its own random offset.

    images: array (N, H, W). max_shift: int m >= 0. rng: a numpy Generator, the only source of
    randomness.
    Returns a new array (N, H, W): image i shifted by (dy_i, dx_i), each drawn uniformly from
    the integers -m..m, independently for every image.
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
# training set of Section 1, 40 epochs each (12 networks: this cell takes a moment).

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
final_train = final_val - final_gap
best_i, best_j = np.unravel_index(np.argmin(final_val), final_val.shape)
print(f"lowest validation loss {final_val[best_i, best_j]:.3f} with keep_prob "
      f"{KEEP_PROBS[best_i]}, reg {REGS[best_j]}; without regularization "
      f"{grid_runs[1.0, 0.0]['val'][-1]:.3f}")
print("gap without dropout, for reg = " + ", ".join(str(r) for r in REGS) + ": "
      + ", ".join(f"{g:.3f}" for g in final_gap[KEEP_PROBS.index(1.0)]))
print("gap without L2, for keep_prob = " + ", ".join(str(k) for k in KEEP_PROBS) + ": "
      + ", ".join(f"{g:.3f}" for g in final_gap[:, REGS.index(0.0)]))
print(f"training loss with reg = {REGS[-1]}: "
      + ", ".join(f"{t:.2f}" for t in final_train[:, -1])
      + f" (keep_prob {', '.join(str(k) for k in KEEP_PROBS)}); without regularization "
      f"{final_train[KEEP_PROBS.index(1.0), 0]:.3f}")

# %% [markdown]
# Read the right table first: the gap shrinks as the L2 penalty grows (to the right), and with
# a strong enough dropout (upwards; the printout gives both rows of numbers). The left table
# shows what we actually care about, the validation loss, and the price of regularizing: the
# largest penalty, `reg = 0.1`, makes the network **underfit**: it can no longer even fit its
# training set (the printed training losses), and its validation loss is far worse than
# without any regularization. The best setting lies in between; finding it is what the
# validation set is for.
#
# Be careful with the small differences between neighbouring cells: each cell is one training
# run on one set of 100 digits. How much of such a difference is luck, the end of this
# notebook measures by training on five different training sets.
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
# ### Everything together, on five training sets
#
# Finally all four of your regularizers in one training run ("all four"), against the
# unregularized network of Section 1 ("none": no stopping, 100 epochs, long after it fits its
# training set perfectly) and against early stopping alone:
#
# - your dropout with `keep_prob = 0.9` and your L2 penalty with `reg = 0.001` (mild settings:
#   the augmentation below already makes the task harder);
# - augmentation with your `random_shift`: `nnlib.train` calls `augment(X_batch, rng)` on every
#   training batch; our digits are rows of 64 pixels, so we reshape each batch to images
#   `(B, 8, 8)`, shift by at most 1 pixel, and flatten back to `(B, 64)`;
# - your `early_stopping` with patience 20, which also restores the best epoch's parameters.
#
# One training run on one set of 100 digits is a noisy measurement: the cells above differ by
# amounts that another set of 100 digits could reverse. So each method is trained on **five**
# different training sets of 100 digits (the first of them is Section 1's), and judged on the
# test set, untouched so far.
#
# And we run the comparison twice: once with the correct labels, and once with about **30 % of
# the training labels replaced by a wrong digit** (each label with probability 0.3; the
# printout counts them; the validation and test labels stay correct).
# That is an exaggeration of something real: large data sets labelled by people contain wrong
# labels too. A network that memorises its training set memorises the wrong labels as well.

# %%
def shift_batch(X_batch, rng):
    """Augmentation for nnlib.train: every row a digit, shifted by up to 1 pixel."""
    images = X_batch.reshape(len(X_batch), 8, 8)
    return random_shift(images, 1, rng).reshape(len(X_batch), 64)


NUM_SETS, WRONG_FRACTION, MAX_EPOCHS = 5, 0.3, 100
METHODS = {
    "none": {},
    "early stopping": {"patience": 20, "stopper": early_stopping},
    "all four": {"ops": my_ops, "keep_prob": 0.9, "reg": 0.001, "augment": shift_batch,
                 "patience": 20, "stopper": early_stopping},
}


def training_set(k, wrong_fraction):
    """Digits 100k..100k+99 of the training split; (X (100, 64), y (100,), which labels are
    wrong (100,) bool): each label is replaced by another digit with probability
    wrong_fraction."""
    X, y = X_train_all[100 * k:100 * (k + 1)], y_train_all[100 * k:100 * (k + 1)].copy()
    rng = np.random.default_rng(100 + k)
    wrong = rng.random(len(y)) < wrong_fraction
    y[wrong] = (y[wrong] + rng.integers(1, 10, size=wrong.sum())) % 10   # never the true one
    return X, y, wrong


comparison = {}                      # (labels, method) -> one result dict per training set
for labels, fraction in (("correct labels", 0.0), ("30 % wrong labels", WRONG_FRACTION)):
    for k in range(NUM_SETS):
        X_k, y_k, wrong_k = training_set(k, fraction)
        for method, settings in METHODS.items():
            model, history, train_losses = train_small(X_train=X_k, y_train=y_k,
                                                       epochs=MAX_EPOCHS, curves=k == 0,
                                                       **settings)
            fitted = model.predict(X_k) == y_k
            comparison.setdefault((labels, method), []).append({
                "test_acc": model.accuracy(X_test, y_test), "test_loss": model.loss(X_test, y_test),
                "train_acc": float(np.mean(fitted)),
                "wrong_learned": float(np.mean(fitted[wrong_k])) if wrong_k.any() else np.nan,
                "history": history, "train_losses": train_losses})

# %%
LABEL_SETTINGS = ["correct labels", "30 % wrong labels"]
fig = plt.figure(figsize=(13, 6.4))
layout = fig.add_gridspec(2, 3, width_ratios=[1.5, 1, 1])
curve_ax = fig.add_subplot(layout[:, 0])
none_run, stopped_run, all_run = (comparison["30 % wrong labels", m][0] for m in METHODS)
# early stopping trains exactly like "none" until it stops: one run, marked where it stops
plots.plot_train_val_curves(curve_ax, none_run["train_losses"], none_run["history"].val_loss,
                            color="C0", label="none",
                            best_epoch=stopped_run["history"].best_epoch,
                            stop_epoch=stopped_run["history"].stopped_epoch)
plots.plot_train_val_curves(curve_ax, all_run["train_losses"], all_run["history"].val_loss,
                            color="C3", label="all four", best_epoch=all_run["history"].best_epoch,
                            stop_epoch=all_run["history"].stopped_epoch)
curve_ax.set(ylim=(0, 3), title="30 % wrong labels, training set 1: loss per epoch\n"
                                "(early stopping: the blue run, stopped at the dashed line)")
curve_ax.legend(fontsize=8, loc="upper right")
ranges = {"test_acc": (0.5, 0.95), "test_loss": (0, 2.6)}
for col, labels in enumerate(LABEL_SETTINGS, start=1):
    for row, (key, name) in enumerate((("test_acc", "test accuracy"), ("test_loss", "test loss"))):
        ax = fig.add_subplot(layout[row, col])
        table = np.array([[run[key] for run in comparison[labels, m]] for m in METHODS])
        ax.plot(np.arange(len(METHODS)), table, color="0.75", lw=0.8, zorder=1)  # one per set
        ax.scatter(np.repeat(np.arange(len(METHODS)), NUM_SETS), table.ravel(), s=14,
                   color="0.35", zorder=2)
        ax.scatter(np.arange(len(METHODS)), table.mean(axis=1), marker="_", s=500,
                   color="C3", zorder=3, label=f"mean of the {NUM_SETS} sets")
        ax.set(xticks=range(len(METHODS)), xticklabels=list(METHODS), xlim=(-0.4, 2.4),
               ylim=ranges[key], ylabel=name, title=f"{labels}: {name}")
        ax.tick_params(axis="x", labelsize=8)
        if row == 0 and col == 1:
            ax.legend(fontsize=7, loc="lower right")
fig.tight_layout()
plt.show()

print("wrong labels in the training sets of the second experiment: "
      + ", ".join(str(training_set(k, WRONG_FRACTION)[2].sum()) for k in range(NUM_SETS))
      + " of 100")
for labels in LABEL_SETTINGS:
    print(f"{labels}, {NUM_SETS} training sets of 100 digits:")
    baseline = comparison[labels, "none"]
    for method in METHODS:
        runs = comparison[labels, method]
        acc = np.array([run["test_acc"] for run in runs])
        loss = np.array([run["test_loss"] for run in runs])
        line = (f"  {method:15s} test accuracy {acc.mean():.3f} (from {acc.min():.3f} to "
                f"{acc.max():.3f}), test loss {loss.mean():.3f}; accuracy on its training "
                f"labels {np.mean([run['train_acc'] for run in runs]):.2f}")
        if labels != "correct labels":
            line += (f", wrong labels learned {np.mean([r['wrong_learned'] for r in runs]):.0%}")
        if method != "none":
            better_acc = sum(r["test_acc"] > b["test_acc"] for r, b in zip(runs, baseline))
            better_loss = sum(r["test_loss"] < b["test_loss"] for r, b in zip(runs, baseline))
            line += (f"; better than none on {better_acc} of {NUM_SETS} sets in accuracy, "
                     f"{better_loss} of {NUM_SETS} in loss")
        print(line)

# %% [markdown]
# Each grey line is one training set, followed across the three methods; the red marks are the
# means. What the numbers say (the printout has them all):
#
# - **With correct labels, the accuracy hardly changes.** The means of the three methods lie
#   within a point of each other, while the five training sets differ from each other by
#   several points: no method wins on every set. What improves is the **test loss**, on every
#   set with early stopping, on some with all four: the regularized networks are less often
#   confidently wrong. With 100 correctly labelled digits, the network's mistakes come from
#   test digits unlike any of its 100; no regularizer can add that knowledge, it can only stop
#   the network from being so sure of itself.
# - **With wrong labels, regularization pays off in accuracy**, on every one of the five sets.
#   The unregularized network fits its training set, wrong labels included (the printout's
#   "wrong labels learned"), and those memorised wrong answers cost it on new digits: its
#   validation loss on the left climbs for the rest of the run after the first few epochs.
#   Early stopping ends training before the network has got round to most of the wrong labels:
#   a network learns the patterns shared by many examples first and the exceptions later. Adding the other three regularizers
#   makes it learn even fewer wrong labels, but gains no accuracy over early stopping alone
#   here.
# - **Early stopping alone** gives most of the gain in both experiments, and costs nothing but
#   a validation set: it should almost always be on.
#
# With only 100 examples no regularizer can conjure up the accuracy of training on all 1797
# digits; regularization makes the most of the data there is, and protects the network from
# what in that data is wrong.
#
# ## Summary
#
# - **Overfitting**: the training loss keeps falling while the validation loss turns up; the
#   **gap** between them grows. Small training sets and large networks make it worse. Always
#   watch both curves.
# - **Inverted dropout** keeps each unit with probability $p$ and divides the kept ones by $p$,
#   so the expected output is unchanged and evaluation mode is simply `out = x`; its backward
#   pass multiplies by the same mask. Classic dropout instead multiplies by $p$ at test time,
#   which every deployed network would have to remember: libraries use the inverted form.
# - **The L2 penalty** adds $\frac{\lambda}{2}\sum W^2$ to the loss and $\lambda W$ to the
#   gradient of every weight; biases are not penalised. It gives up first the weights the data
#   cares least about. With SGD it is **weight decay**, every step shrinking the weights by
#   $1 - \eta\lambda$; under Adam the penalty's gradient is divided by $\sqrt{\hat v}$, so its
#   pull differs from weight to weight, and **decoupled weight decay** (AdamW) applies the
#   decay outside Adam's step instead.
# - **Early stopping** watches the validation loss: stop after `patience` epochs without an
#   improvement larger than `min_delta`, and restore the parameters of the best epoch.
# - **Data augmentation** creates new training examples by transformations that keep the label,
#   such as shifting digits by a pixel or two.
# - Too much regularization **underfits**: choose its strength on the validation set, and
#   report the final result on the test set, on more than one training run when the
#   differences are small.
# - On clean data regularization mostly makes a small network less **overconfident** (lower
#   loss, about the same accuracy); when the training labels contain mistakes, stopping it from
#   memorising them buys accuracy too.
#
# Next, in notebook 06: a way to need much less data in the first place, by starting from a
# network someone else has already trained.
