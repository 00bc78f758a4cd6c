# %% [markdown]
# # 07 Training in practice
#
# You have written every layer, both losses, backpropagation and four update rules. What you
# have not written yet is the **training loop** itself, or a network deeper than two layers by
# your own hand. And deep networks are where training gets hard: stack ten layers and the
# signal that flows forward can fade to nothing or blow up, gradients follow, and a learning
# rate that suits one moment of training ruins another. This notebook is about the handful of
# tools that make deep networks train, and that every modern training recipe uses.
#
# By the end of this notebook you will be able to
#
# - explain why signals shrink or grow through depth, and initialise a ReLU network so they do
#   not (**He initialisation**);
# - normalise each layer's activations over the batch (**batch normalisation**), forward and
#   backward, in training and in test mode;
# - write the loss and gradients of a network of **any depth**, and the **training loop** for
#   one epoch;
# - tame exploding gradients with **gradient clipping** by their global norm;
# - change the learning rate during training: **warm-up** and **cosine decay**;
# - decay weights the way Adam needs it (**AdamW**), and say why an L2 penalty is not the same;
# - put it all together and train a digit classifier to at least 97 % test accuracy.
#
# | exercise | points | exercise | points |
# |---|---|---|---|
# | `he_normal` | 5 | `clip_by_global_norm` | 10 |
# | `batchnorm_forward` | 15 | `train_epoch` | 15 |
# | `batchnorm_backward` | 15 | `warmup_cosine` | 10 |
# | `mlp_loss` | 20 | `adamw` | 10 |
#
# Everything from notebooks 00 to 06 is at hand through `nnlib` (for example
# `nnlib.affine_forward`, `nnlib.iterate_minibatches`, `nnlib.adam`). Run the cells from top to
# bottom. Before each exercise the pictures use `nnlib`'s reference implementation of the same
# function; after it, the notebook uses *yours*.

# %% nbgrader={"grade_id": "setup", "locked": true}
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

import nnlib
from autograder import check
from nnlib import plots
from nnlib.datasets import load_digits
from nnlib.deep_mlp import hidden_activations
from nnlib.training_loop import run_epoch
from nnlib.widgets import slider_panel

np.set_printoptions(precision=4, suppress=True)
# This notebook trains many small networks: their small matrix products run faster on one
# thread than split over several threads that compete for the cores.
threadpool_limits(limits=1, user_api="blas")

# %% [markdown]
# The data for the whole notebook: the 1797 handwritten digits (8x8 pixels, 64 inputs, 10
# classes), split into training, validation and test rows once, and standardised with the
# training rows' statistics (notebook 00), so that every input feature has mean 0 and
# standard deviation 1 on the training set.

# %%
X_digits, y_digits = load_digits()
X_tr, y_tr, X_va, y_va, X_te, y_te = nnlib.train_val_test_split(
    X_digits, y_digits, 0.15, 0.2, np.random.default_rng(0))
X_tr, X_va, X_te = (nnlib.standardize(X_tr, part) for part in (X_tr, X_va, X_te))
print(f"training {X_tr.shape}, validation {X_va.shape}, test {X_te.shape}")

# %% [markdown]
# ## 1. Signals through depth, and He initialisation
#
# Follow one batch through a deep ReLU network. Layer $l$ computes
# $z^{(l)} = h^{(l-1)} W^{(l)} + b^{(l)}$ and $h^{(l)} = \mathrm{ReLU}(z^{(l)})$. With the
# weights drawn independently with mean 0 and variance $\mathrm{Var}(w)$, the biases 0, and
# $n = $ fan_in inputs to every unit, each pre-activation is a sum of $n$ independent terms,
# so its variance is the sum of theirs:
#
# $$
# \mathrm{Var}\big(z^{(l)}\big) = n \,\mathrm{Var}(w)\; \mathbb{E}\big[(h^{(l-1)})^2\big].
# $$
#
# A ReLU keeps the positive half of a symmetric $z$ and sets the other half to 0, so it keeps
# half of the second moment: $\mathbb{E}[\mathrm{ReLU}(z)^2] = \tfrac12 \mathrm{Var}(z)$.
# Together, every layer multiplies the second moment of the signal by the same factor:
#
# $$
# \mathbb{E}\big[(h^{(l)})^2\big] = \frac{n\, \mathrm{Var}(w)}{2}\;
# \mathbb{E}\big[(h^{(l-1)})^2\big].
# $$
#
# After $L$ layers the factor is raised to the power $L$: below 1 the signal **vanishes**,
# above 1 it **explodes**, and only exactly 1 keeps it steady. The backward pass multiplies by
# the same weights (transposed), so the gradients shrink or grow alike.
#
# - **Glorot** initialisation (notebook 03) has $\mathrm{Var}(w) = 2/(n_{in} + n_{out})$,
#   which is $1/n$ for a square layer: the factor is $\tfrac12$ per layer. Glorot derived it for
#   activations that keep both signs (tanh), where no half is lost.
# - **He** initialisation (He et al., 2015) makes up for the lost half:
#   $\mathrm{Var}(w) = 2 / n$, so the factor is exactly 1.
#
# The picture: a batch of 500 random inputs through 20 ReLU layers of 256 units each, with
# nnlib's two initialisations, and the root mean square $\sqrt{\mathbb{E}[h^2]}$ of each
# layer's output.

# %%
depth_X = np.random.default_rng(1).standard_normal((500, 256))
depth_rms = {}
for init in ("glorot", "he"):
    deep = nnlib.init_mlp([256] * 21 + [10], np.random.default_rng(2), init=init)
    depth_rms[init] = [np.sqrt(np.mean(h**2)) for h in hidden_activations(deep, depth_X)]

fig, ax = plt.subplots(figsize=(7.5, 3.4))
layers = np.arange(1, 21)
ax.semilogy(layers, depth_rms["glorot"], "o-", ms=3, label="Glorot: Var(w) = 1/n")
ax.semilogy(layers, depth_rms["he"], "o-", ms=3, label="He: Var(w) = 2/n")
ax.semilogy(layers, depth_rms["glorot"][0] * 0.5 ** ((layers - 1) / 2), ":", color="C0",
            label="Glorot, predicted: a factor √½ per layer")
ax.set(xlabel="layer", ylabel="root mean square of the layer's output (log)",
       title="20 ReLU layers of 256 units, 500 random inputs")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"layer 20's output is {depth_rms['glorot'][-1] / depth_rms['glorot'][0]:.4f} times the "
      f"size of layer 1's with Glorot (predicted: 0.5 ** (19 / 2) = {0.5 ** 9.5:.4f}), "
      f"{depth_rms['he'][-1] / depth_rms['he'][0]:.2f} times with He")
print(f"nine layers at a factor sqrt(1/2) each: 1 / {2 ** 4.5:.1f}")

# %% [markdown]
# With Glorot, each layer shrinks the root mean square by a factor of about $\sqrt{1/2}$, as
# predicted; with He it stays where it started. From the first to the tenth layer, Glorot
# shrinks the signal (and the gradients) by about $2^{9/2} \approx 23$: the later layers see
# almost nothing, and the loss barely moves at first (Section 7 shows it on the digits).
#
# ### Worked example
#
# A layer with fan_in $n = 64$: $\mathrm{Var}(w) = 2/64 = 0.03125$, a standard deviation of
# $\sqrt{0.03125} = 0.1768$. NumPy's `rng.normal(0.0, std, size)` takes the **standard
# deviation**, not the variance. A small draw, fan_in 3 and fan_out 2, standard deviation
# $\sqrt{2/3} = 0.8165$:

# %%
print(np.sqrt(2 / 64), np.sqrt(2 / 3))
print(nnlib.he_normal(3, 2, np.random.default_rng(0)))
print(np.random.default_rng(0).normal(0.0, np.sqrt(2 / 3), size=(3, 2)))   # the same numbers

# %% [markdown]
# ### Exercise 1: `he_normal` (5 points)
#
# Draw the whole matrix with **one** call of `rng.normal` (the checker replays the same random
# numbers), shape `(fan_in, fan_out)`.

# %% nbgrader={"grade_id": "he_normal", "solution": true}
def he_normal(fan_in, fan_out, rng):
    """He initialisation for a layer followed by a ReLU.

    fan_in, fan_out: the number of inputs and outputs of the layer; rng: a NumPy Generator.
    Returns W of shape (fan_in, fan_out), drawn from a normal distribution with mean 0 and
    variance 2 / fan_in.

    Hint: one line; rng.normal takes the standard deviation.
    """
    ### BEGIN SOLUTION
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
    ### END SOLUTION


# %%
W_big = he_normal(512, 512, np.random.default_rng(0))
print(f"your he_normal(512, 512): variance {W_big.var():.6f}, expected 2 / 512 = {2 / 512:.6f}")

# %% nbgrader={"grade_id": "test_he_normal", "grade": true, "points": 5}
check("he_normal", he_normal)
### BEGIN HIDDEN TESTS
check("he_normal", he_normal, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Batch normalisation
#
# The right initialisation keeps the signal's scale steady *at the start*. During training the
# weights change, and with them the distribution of every layer's inputs. **Batch
# normalisation** (Ioffe and Szegedy, 2015) stops relying on luck: it normalises each feature of
# a layer's pre-activations over the batch, to mean 0 and variance 1, and then lets the
# network choose the scale and shift it wants with two learned parameters per feature,
# $\gamma$ and $\beta$. It sits between the affine step and the ReLU:
# affine $\to$ batch norm $\to$ ReLU.
#
# For a batch $x$ of shape $(N, D)$, per feature $j$ (column), with the sums over the $N$ rows:
#
# $$
# \mu_j = \frac1N \sum_{i} x_{ij}, \qquad
# \sigma_j^2 = \frac1N \sum_{i} (x_{ij} - \mu_j)^2, \qquad
# \hat x_{ij} = \frac{x_{ij} - \mu_j}{\sqrt{\sigma_j^2 + \varepsilon}}, \qquad
# \text{out}_{ij} = \gamma_j\, \hat x_{ij} + \beta_j .
# $$
#
# $\sigma^2$ is the **population** variance (divided by $N$, NumPy's default `ddof=0`), and the
# small $\varepsilon$ (default $10^{-5}$) keeps the division safe when a feature is constant in
# the batch. With $\gamma = \sqrt{\sigma^2 + \varepsilon}$ and $\beta = \mu$ the layer could undo
# itself, so normalising takes nothing away from what the network can express.
#
# **Training and test mode.** In training each batch is normalised with its own statistics.
# At test time we want the prediction for one image not to depend on which other images share
# its batch, so batch norm keeps **running averages** of $\mu$ and $\sigma^2$ during training,
# updated at every training step with a momentum $m$ (default 0.9),
#
# $$
# \text{running\_mean} \leftarrow m \cdot \text{running\_mean} + (1 - m)\, \mu, \qquad
# \text{running\_var} \leftarrow m \cdot \text{running\_var} + (1 - m)\, \sigma^2,
# $$
#
# and normalises with those in test mode. They live in a dict `bn_param`, one per layer, which
# also holds the `mode` (`"train"` or `"test"`), `eps` and `momentum`; missing running
# statistics start as zeros.
#
# The picture: the pre-activations of eight units in layer 5 of a ten-layer Glorot network, for
# a batch of 64 digits, before and after batch normalisation ($\gamma = 1$, $\beta = 0$). Each
# unit had its own centre and a tiny spread; afterwards every unit has mean 0 and standard
# deviation 1.

# %%
glorot_10 = nnlib.init_mlp([64] + [64] * 9 + [10], np.random.default_rng(3), init="glorot")
pre_5 = hidden_activations(glorot_10, X_tr[:64], before_relu=True)[4][:, :8]
post_5, _ = nnlib.batchnorm_forward(pre_5, np.ones(8), np.zeros(8), {})

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.2))
ax1.boxplot(pre_5, showfliers=False)
ax1.axhline(0, color="0.7", lw=0.8)
ax1.set(xlabel="unit", ylabel="pre-activation", title="Layer 5 of 10, Glorot: before")
ax2.boxplot(post_5, showfliers=False)
ax2.axhline(0, color="0.7", lw=0.8)
ax2.set(xlabel="unit", ylabel="normalised", title="After batch norm (γ = 1, β = 0)")
fig.tight_layout()
plt.show()
print("standard deviation per unit before:", pre_5.std(axis=0))
print("after:                             ", post_5.std(axis=0))

# %% [markdown]
# ### Worked example
#
# $x = \begin{pmatrix} 1 & 2 \\ 3 & 6 \end{pmatrix}$ ($N = 2$, $D = 2$), $\gamma = (1, 2)$,
# $\beta = (0, 1)$, an empty `bn_param` (training mode, $\varepsilon = 10^{-5}$, momentum 0.9):
#
# - $\mu = (2, 4)$, $\sigma^2 = \big(\tfrac{1 + 1}{2}, \tfrac{4 + 4}{2}\big) = (1, 4)$;
# - $\hat x = \begin{pmatrix} -1 & -1 \\ 1 & 1 \end{pmatrix}$
#   (up to $\varepsilon$: $-1/\sqrt{1.00001} = -0.999995$), and
#   out $= \gamma \hat x + \beta = \begin{pmatrix} -1 & -1 \\ 1 & 3 \end{pmatrix}$;
# - the running statistics start at zeros: running_mean $= 0.1\, \mu = (0.2, 0.4)$,
#   running_var $= 0.1\, \sigma^2 = (0.1, 0.4)$.
#
# Then in test mode, with those running statistics, the same $x$ gives very different outputs:
# the running averages are far from this batch's statistics after only one step.

# %%
x_bn = np.array([[1.0, 2.0], [3.0, 6.0]])
gamma_bn, beta_bn = np.array([1.0, 2.0]), np.array([0.0, 1.0])
bn_param_ex = {}
out_bn, _ = nnlib.batchnorm_forward(x_bn, gamma_bn, beta_bn, bn_param_ex)
print("out:\n", out_bn)
print("bn_param after one training step:", bn_param_ex)
bn_param_ex["mode"] = "test"
print("test mode:\n", nnlib.batchnorm_forward(x_bn, gamma_bn, beta_bn, bn_param_ex)[0])

# %% [markdown]
# ### Exercise 2: `batchnorm_forward` (15 points)
#
# - Read the settings with `bn_param.get(key, default)`. `bn_param` is the one input an exercise
#   may change, and only in training mode, and only its `"running_mean"` and `"running_var"`:
#   do not write `mode`, `eps` or `momentum` into it (`setdefault` would).
# - A `mode` other than `"train"` and `"test"` raises `ValueError`.
# - The `cache` is yours to design: it is what *your* `batchnorm_backward` will need (the
#   checker of `batchnorm_backward` gives it the cache of your `batchnorm_forward`). In test
#   mode no backward pass follows; return any cache, e.g. `None`.
#
# <details><summary>Hint</summary>
#
# `mu = x.mean(axis=0)` and `var = x.var(axis=0)` give one value per feature; broadcasting
# does the rest. A useful cache: `xhat`, `gamma` and `1 / np.sqrt(var + eps)`.
# </details>

# %% nbgrader={"grade_id": "batchnorm_forward", "solution": true}
def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation of x (N, D) over the batch, then scale gamma (D,) and shift beta (D,).

    bn_param: dict with "mode" ("train", the default, or "test"), "eps" (1e-5), "momentum" (0.9),
    "running_mean" and "running_var" ((D,), zeros when missing).
    Training: normalise with the batch's mean and population variance (axis 0), and set
    bn_param["running_mean"] and bn_param["running_var"] to momentum * old + (1 - momentum) *
    the batch's value. Test: normalise with the running statistics; bn_param is not changed.
    Another mode raises ValueError. Returns (out (N, D), cache).
    """
    ### BEGIN SOLUTION
    mode = bn_param.get("mode", "train")
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    zeros = np.zeros(x.shape[1], dtype=np.result_type(x, 0.0))
    running_mean = bn_param.get("running_mean", zeros)
    running_var = bn_param.get("running_var", zeros)
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        inv_std = 1.0 / np.sqrt(var + eps)
        xhat = (x - mu) * inv_std
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
        return gamma * xhat + beta, (xhat, gamma, inv_std)
    if mode == "test":
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        return gamma * xhat + beta, None
    raise ValueError(f"bn_param['mode'] must be 'train' or 'test', not {mode!r}")
    ### END SOLUTION


# %%
bn_param_mine = {}
print(batchnorm_forward(x_bn, gamma_bn, beta_bn, bn_param_mine)[0])
print(bn_param_mine)

# %% nbgrader={"grade_id": "test_batchnorm_forward", "grade": true, "points": 15}
check("batchnorm_forward", batchnorm_forward)
### BEGIN HIDDEN TESTS
check("batchnorm_forward", batchnorm_forward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Batch normalisation, backward
#
# Backpropagating through batch norm is harder than through an affine layer for one reason:
# every input $x_{ij}$ affects **every** output of its column, through $\mu_j$ and
# $\sigma_j^2$. The picture shows it: nudge one input, `x[0, 0]`, by 0.1, and all outputs of
# column 0 move, not only row 0's.

# %%
x_nudge = np.random.default_rng(4).standard_normal((6, 3))
out_before, _ = nnlib.batchnorm_forward(x_nudge, np.ones(3), np.zeros(3), {})
nudged = x_nudge.copy()
nudged[0, 0] += 0.1
out_after, _ = nnlib.batchnorm_forward(nudged, np.ones(3), np.zeros(3), {})

fig, ax = plt.subplots(figsize=(7, 2.8))
ax.bar(np.arange(6) - 0.2, out_after[:, 0] - out_before[:, 0], width=0.4, label="column 0")
ax.bar(np.arange(6) + 0.2, out_after[:, 1] - out_before[:, 1], width=0.4, label="column 1")
ax.axhline(0, color="0.5", lw=0.8)
ax.set(xlabel="row i", ylabel="change of out[i, j]", xticks=range(6),
       title="x[0, 0] += 0.1: every output of column 0 moves")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# The other rows of column 0 move too: the mean went up, which pulls every other $\hat x$ down,
# and the variance changed, which pulls every $\hat x$ towards 0 or away from it. Column 1 does
# not move at all: each feature is normalised on its own. The backward pass must collect all
# these paths. Per column (drop the index $j$;
# sums run over the rows), with $s = \sqrt{\sigma^2 + \varepsilon}$ and the upstream gradient
# $d\text{out}$:
#
# $$
# d\beta = \sum_i d\text{out}_i, \qquad
# d\gamma = \sum_i d\text{out}_i\, \hat x_i, \qquad
# d\hat x_i = d\text{out}_i\, \gamma .
# $$
#
# For $dx$, $\hat x_i = (x_i - \mu)/s$ depends on $x_k$ directly (when $i = k$) and through
# $\mu$ and $s$. Using $\partial \mu / \partial x_k = 1/N$ and
# $\partial \sigma^2 / \partial x_k = 2 (x_k - \mu)/N$, and collecting the three paths, it
# simplifies to
#
# $$
# dx_k = \frac{1}{N s} \Big( N\, d\hat x_k - \sum_i d\hat x_i - \hat x_k \sum_i d\hat x_i\, \hat x_i
# \Big).
# $$
#
# The first term is the direct path, the second the path through the mean (it makes every
# column of $dx$ sum to 0: shifting a whole column does not change batch norm's output), the
# third the path through the variance.
#
# ### Worked example
#
# The forward example above, with $d\text{out} = \begin{pmatrix} 1 & 0 \\ 0 & 0 \end{pmatrix}$:
# $d\beta = (1, 0)$; $d\gamma = (1 \cdot \hat x_{00}, 0) = (-0.999995, 0)$. For column 0,
# $d\hat x = (1, 0)$, $\sum d\hat x = 1$, $\sum d\hat x\, \hat x = -0.999995$, and
# $dx_{00} = \frac{1}{2 \cdot 1.000005}\big(2 - 1 - (-0.999995)(-0.999995)\big) \approx
# 0.000005$: with only two rows, $\hat x$ is $\pm 1$ whatever $x$ is, so the output hardly
# depends on $x$ at all, and every entry of $dx$ is tiny.

# %%
_, cache_bn = nnlib.batchnorm_forward(x_bn, gamma_bn, beta_bn, {})
dx_bn, dgamma_bn, dbeta_bn = nnlib.batchnorm_backward(np.array([[1.0, 0.0], [0.0, 0.0]]),
                                                      cache_bn)
print(f"dx[0, 0] = {dx_bn[0, 0]:.3g}, dx[1, 0] = {dx_bn[1, 0]:.3g}, largest |dx| = "
      f"{np.abs(dx_bn).max():.3g}")
print("dgamma:", dgamma_bn, " dbeta:", dbeta_bn)

# %% [markdown]
# ### Exercise 3: `batchnorm_backward` (15 points)
#
# `cache` is whatever your `batchnorm_forward` returned in training mode: the checker runs your
# forward pass first and hands its cache to your backward pass (so your `batchnorm_forward`
# must pass its check first). Return `(dx, dgamma, dbeta)`, shaped like `x`, `gamma`, `beta`.
#
# <details><summary>Hint</summary>
#
# Unpack your cache, then four lines: `dbeta`, `dgamma`, `dxhat = dout * gamma`, and the formula
# for `dx` with `.sum(axis=0)` for the sums.
# </details>

# %% nbgrader={"grade_id": "batchnorm_backward", "solution": true}
def batchnorm_backward(dout, cache):
    """Backward pass of batch normalisation in training mode.

    dout: (N, D) upstream gradient; cache: what your batchnorm_forward returned.
    Returns (dx (N, D), dgamma (D,), dbeta (D,)).
    """
    ### BEGIN SOLUTION
    xhat, gamma, inv_std = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dx = (inv_std / n) * (n * dxhat - dxhat.sum(axis=0) - xhat * np.sum(dxhat * xhat, axis=0))
    return dx, dgamma, dbeta
    ### END SOLUTION


# %% [markdown]
# Check your pair against central differences (notebook 03): the relative errors should be
# around $10^{-9}$ or smaller.

# %%
rng_chk = np.random.default_rng(5)
x_chk = 2.0 + rng_chk.standard_normal((5, 3))
g_chk, b_chk = rng_chk.uniform(0.5, 2.0, 3), rng_chk.standard_normal(3)
dout_chk = rng_chk.standard_normal((5, 3))


def bn_scalar(x_, g_, b_):
    return np.sum(batchnorm_forward(x_, g_, b_, {})[0] * dout_chk)


mine = batchnorm_backward(dout_chk, batchnorm_forward(x_chk, g_chk, b_chk, {})[1])
numeric = [nnlib.numeric_gradient(lambda v: bn_scalar(v, g_chk, b_chk), x_chk.copy()),
           nnlib.numeric_gradient(lambda v: bn_scalar(x_chk, v, b_chk), g_chk.copy()),
           nnlib.numeric_gradient(lambda v: bn_scalar(x_chk, g_chk, v), b_chk.copy())]
for name, got, num in zip(("dx", "dgamma", "dbeta"), mine, numeric):
    print(f"{name}: relative error {nnlib.rel_error(got, num):.1e}")

# %% nbgrader={"grade_id": "test_batchnorm_backward", "grade": true, "points": 15}
check("batchnorm_backward", batchnorm_backward)
### BEGIN HIDDEN TESTS
check("batchnorm_backward", batchnorm_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. A network of any depth
#
# In notebook 03 you wrote `two_layer_net` line by line. A deep network is the same chain of
# layers in a loop. With the parameters in one dict, `W1 b1 ... WL bL`, every layer but the last
# is affine, then batch norm if that layer has `gamma{i}` and `beta{i}` in the dict, then ReLU;
# the last layer is affine and gives the scores, and softmax cross-entropy turns them into the
# loss. The forward pass keeps each layer's caches in a list; the backward pass walks the list
# backwards, each layer handing its input's gradient to the layer before.
#
# $$
# h^{(0)} = X, \qquad h^{(i)} = \mathrm{ReLU}\big(\mathrm{BN}_i(h^{(i-1)} W_i + b_i)\big)
# \ \ (i = 1, \dots, L-1), \qquad \text{scores} = h^{(L-1)} W_L + b_L .
# $$
#
# Batch norm of layer $i$ runs in training mode with `bn_params[i - 1]`, a list of $L - 1$
# dicts, one per hidden layer (layer 1 uses `bn_params[0]`), so that the running statistics
# of each layer stay with that layer from step to step. Where `bn_params` is `None`, each layer
# gets a fresh `{}` (its statistics are simply thrown away).

# %%
fig, ax = plt.subplots(figsize=(13, 2.8))
plots.plot_layer_pipeline(["affine", "batch\nnorm", "ReLU", "affine", "softmax\ncross-entropy"],
                          ["h⁽ⁱ⁻¹⁾", "a", "â", "h⁽ⁱ⁾", "scores", "loss"],
                          ["dh⁽ⁱ⁻¹⁾", "da", "dâ", "dh⁽ⁱ⁾", "dscores", "1"], ax=ax)
ax.set_title("hidden layer i (the first three boxes), repeated for i = 1, ..., L - 1, "
             "then the last layer", fontsize=10)
plt.show()

# %% [markdown]
# ### Worked example
#
# Three layers, 4 inputs, hidden layers of 5 and 6 units, 3 classes, batch norm on layer 1 only
# (so the dict has `gamma1` and `beta1`, not `gamma2`, `beta2`): `nnlib.mlp_loss` returns the
# loss and a gradient for each of the 8 arrays, and fills in the running statistics of
# `bn_params[0]`; `bn_params[1]` (layer 2, no batch norm) stays empty.

# %%
rng_ex = np.random.default_rng(6)
params_ex = nnlib.init_mlp([4, 5, 6, 3], rng_ex, init="he")
params_ex.update(gamma1=np.ones(5), beta1=np.zeros(5))
X_ex, y_ex = rng_ex.standard_normal((8, 4)), rng_ex.integers(0, 3, size=8)
bn_params_ex = [{}, {}]
loss_ex, grads_ex = nnlib.mlp_loss(params_ex, X_ex, y_ex, bn_params_ex)
print(f"loss {loss_ex:.4f}")
print({key: grad.shape for key, grad in grads_ex.items()})
print("bn_params:", [sorted(d) for d in bn_params_ex])

# %% [markdown]
# ### Exercise 4: `mlp_loss` (20 points)
#
# Use `nnlib.affine_forward`, `nnlib.affine_backward`, `nnlib.relu_forward`,
# `nnlib.relu_backward`, `nnlib.cross_entropy_loss` and
# `nnlib.softmax_cross_entropy_backward` (or yours from notebooks 01 and 03), and **your**
# `batchnorm_forward` and `batchnorm_backward`. `grads` has exactly the keys of `params`.
#
# <details><summary>Hint</summary>
#
# `L = sum(key.startswith("W") for key in params)`. In the forward loop append
# `(affine_cache, bn_cache, relu_cache)` to a list (`bn_cache = None` for a layer without batch
# norm); the last layer needs only its affine cache. The backward loop runs
# `for i in range(L - 1, 0, -1)`: ReLU, batch norm (if its cache is not None), affine.
# About 25 lines.
# </details>

# %% nbgrader={"grade_id": "mlp_loss", "solution": true}
def mlp_loss(params, X, y, bn_params=None):
    """Softmax cross-entropy loss and gradients of a ReLU network of any depth.

    params: dict W1 b1 ... WL bL (Wi (fan_in, fan_out), bi (fan_out,)), plus gamma{i} and
    beta{i} (fan_out,) for each hidden layer i with batch norm. X: (N, D); y: (N,) labels.
    bn_params: list of L - 1 dicts, bn_params[i - 1] for layer i's batch norm (training mode;
    its running statistics are updated), or None (a fresh dict per layer).
    Returns (loss, grads): the average loss (float) and a dict with a gradient for every key
    of params.
    """
    ### BEGIN SOLUTION
    L = sum(key.startswith("W") for key in params)
    if bn_params is None:
        bn_params = [{} for _ in range(L - 1)]
    h, caches = X, []
    for i in range(1, L):
        h, affine_cache = nnlib.affine_forward(h, params[f"W{i}"], params[f"b{i}"])
        bn_cache = None
        if f"gamma{i}" in params and f"beta{i}" in params:
            h, bn_cache = batchnorm_forward(h, params[f"gamma{i}"], params[f"beta{i}"],
                                            bn_params[i - 1])
        h, relu_cache = nnlib.relu_forward(h)
        caches.append((affine_cache, bn_cache, relu_cache))
    scores, last_cache = nnlib.affine_forward(h, params[f"W{L}"], params[f"b{L}"])
    loss = nnlib.cross_entropy_loss(scores, y)
    grads = {}
    dscores = nnlib.softmax_cross_entropy_backward(scores, y)
    dh, grads[f"W{L}"], grads[f"b{L}"] = nnlib.affine_backward(dscores, last_cache)
    for i in range(L - 1, 0, -1):
        affine_cache, bn_cache, relu_cache = caches[i - 1]
        dh = nnlib.relu_backward(dh, relu_cache)
        if bn_cache is not None:
            dh, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dh, bn_cache)
        dh, grads[f"W{i}"], grads[f"b{i}"] = nnlib.affine_backward(dh, affine_cache)
    for key in params:
        grads.setdefault(key, np.zeros_like(params[key]))
    return loss, grads
    ### END SOLUTION


# %%
bn_params_mine = [{}, {}]
loss_mine, grads_mine = mlp_loss(params_ex, X_ex, y_ex, bn_params_mine)
print(f"loss {loss_mine:.4f}")
print({key: grad.shape for key, grad in grads_mine.items()})
print("bn_params:", [sorted(d) for d in bn_params_mine])

# %% nbgrader={"grade_id": "test_mlp_loss", "grade": true, "points": 20}
check("mlp_loss", mlp_loss)
### BEGIN HIDDEN TESTS
check("mlp_loss", mlp_loss, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Exploding gradients, and clipping them
#
# Now and then one mini-batch produces a gradient far larger than usual: a deep network, a
# large learning rate, a rare batch. One step along it throws the weights far away, the next
# gradient is larger still, and within a few steps the loss is `inf` or `nan`. **Gradient
# clipping** caps the length of the step: if the gradient of *all* parameters together is
# longer than a threshold $c$, scale it down to length $c$; otherwise leave it alone. Its
# length is the **global norm**, over every entry of every array:
#
# $$
# \|g\| = \sqrt{\sum_{\text{arrays } k}\ \sum_{\text{entries}} g_k^2}, \qquad
# g_k \leftarrow g_k \cdot \frac{c}{\|g\|} \ \text{ for every array } k \ \text{ when } \|g\| > c .
# $$
#
# One scale for all arrays keeps the **direction** of the gradient, only its length changes.
# Clipping each array by its own norm, or each value (`np.clip`), would change the direction:
# the picture shows three 2-D gradients, clipped to length $c = 1.5$ (on the circle) and clipped
# value by value to $[-1.5, 1.5]$ (on the square).

# %%
vectors = np.array([[3.0, 1.0], [0.6, 2.8], [0.8, 0.5]])
c_clip = 1.5
fig, ax = plt.subplots(figsize=(5.2, 4.4))
ax.add_patch(plt.Circle((0, 0), c_clip, fill=False, color="C0", ls="--"))
ax.add_patch(plt.Rectangle((-c_clip, -c_clip), 2 * c_clip, 2 * c_clip, fill=False,
                           color="C1", ls=":"))
for k, g in enumerate(vectors):
    norm = np.linalg.norm(g)
    by_norm = g * (c_clip / norm if norm > c_clip else 1.0)
    by_value = np.clip(g, -c_clip, c_clip)
    ax.annotate("", g, (0, 0), arrowprops=dict(arrowstyle="-|>", color="0.6"))
    ax.annotate("", by_norm, (0, 0), arrowprops=dict(arrowstyle="-|>", color="C0", lw=2))
    ax.plot(*by_value, "s", color="C1", ms=6)
    ax.text(*(g * 1.04), f"g{k + 1}", fontsize=9)
ax.plot([], [], color="0.6", label="gradient")
ax.plot([], [], color="C0", lw=2, label="clipped by its norm (same direction)")
ax.plot([], [], "s", color="C1", label="clipped value by value (np.clip)")
ax.set(xlim=(-0.3, 3.4), ylim=(-0.3, 3.1), aspect="equal", title=f"Clipping at c = {c_clip}")
ax.legend(fontsize=8, loc="upper right")
fig.tight_layout()
plt.show()

# %% [markdown]
# $g_3$ is shorter than $c$ and stays as it is. The clipped-by-value $g_1$ and $g_2$ lie on the
# square's corner or edge, pointing somewhere else than the gradient did.
#
# ### Worked example
#
# `grads = {"W": [[3, 0]], "b": [4]}`: $\|g\| = \sqrt{9 + 0 + 16} = 5$. With `max_norm = 1`
# every array is multiplied by $1/5$: `W` becomes `[[0.6, 0]]`, `b` becomes `[0.8]`, and the
# function returns the norm before clipping, 5. With `max_norm = 5` nothing changes (the norm is
# not *above* the threshold).

# %%
grads_ex = {"W": np.array([[3.0, 0.0]]), "b": np.array([4.0])}
print(nnlib.clip_by_global_norm(grads_ex, 1.0))
print(nnlib.clip_by_global_norm(grads_ex, 5.0))

# %% [markdown]
# ### Exercise 5: `clip_by_global_norm` (10 points)
#
# Return a **new** dict of **new** arrays (copies where nothing is clipped), and do not change
# `grads`.

# %% nbgrader={"grade_id": "clip_by_global_norm", "solution": true}
def clip_by_global_norm(grads, max_norm):
    """Scale every gradient by max_norm / norm when their global norm is above max_norm.

    grads: dict of arrays (a network's gradients); max_norm: a positive float.
    Returns (clipped, norm): norm = sqrt of the sum of squares of every entry of every array
    (a float), and a new dict with the same keys: each array times max_norm / norm if
    norm > max_norm, else an unchanged copy.

    Hint: about 5 lines.
    """
    ### BEGIN SOLUTION
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    scale = max_norm / norm if norm > max_norm else 1.0
    return {key: g * scale for key, g in grads.items()}, norm
    ### END SOLUTION


# %%
print(clip_by_global_norm(grads_ex, 1.0))
print(clip_by_global_norm(grads_ex, 5.0))

# %% nbgrader={"grade_id": "test_clip_by_global_norm", "grade": true, "points": 10}
check("clip_by_global_norm", clip_by_global_norm)
### BEGIN HIDDEN TESTS
check("clip_by_global_norm", clip_by_global_norm, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. The training loop
#
# `nnlib.train` has run every training so far. Its heart is one **epoch**: a pass over the
# training rows in mini-batches, in a new random order each epoch, with one update of every
# parameter array per batch:
#
# ```
# for X_batch, y_batch in iterate_minibatches(X, y, batch_size, rng):
#     loss, grads = mlp_loss(params, X_batch, y_batch)
#     if max_norm is not None:  grads, _ = clip_by_global_norm(grads, max_norm)
#     for key in params:        params[key], configs[key] = update_rule(params[key], grads[key], c)
# ```
#
# Each parameter array has its own optimizer config (notebook 04: its velocity, or Adam's `m`,
# `v`, `t`), kept in a dict `configs` under the same key; a key with no config passes `None`,
# so the update rule uses its defaults. `c` is a **copy** of `configs[key]`: update rules change
# the dict they are given, and the caller's `configs` must stay as they were. For the same
# reason `train_epoch` returns **new** dicts `params` and `configs` (the loop can start with
# `params = dict(params)`) and the list of every batch's loss.
#
# The batch order comes from `rng`, and `rng` is *used up* as it goes: every epoch of a
# training run gets a new order. The picture shows it for 20 rows in batches of 5, three epochs
# from one generator: each column is an epoch, each colour a batch.

# %%
order_rng = np.random.default_rng(7)
rows = np.arange(20)
batch_of = np.zeros((20, 3), dtype=int)
for epoch in range(3):
    for b, (_, row_batch) in enumerate(nnlib.iterate_minibatches(rows, rows, 5, order_rng)):
        batch_of[row_batch, epoch] = b
fig, ax = plt.subplots(figsize=(3.6, 4.2))
ax.imshow(batch_of, cmap="tab10", vmin=0, vmax=9, aspect="auto")
ax.set(xticks=range(3), xticklabels=["epoch 1", "epoch 2", "epoch 3"], ylabel="row",
       title="batch of each row")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Worked example
#
# A network 4 - 5 - 3, 10 rows in batches of 4 (so 3 batches: 4, 4 and 2 rows), SGD with
# momentum, a config for `W1` only: one epoch gives three losses, and the returned configs hold
# a velocity for every key (the others started from the defaults). The configs given in are
# untouched.

# %%
rng_loop = np.random.default_rng(8)
params_loop = nnlib.init_mlp([4, 5, 3], rng_loop, init="he")
X_loop, y_loop = rng_loop.standard_normal((10, 4)), rng_loop.integers(0, 3, size=10)
configs_loop = {"W1": {"learning_rate": 0.1, "momentum": 0.5}}
new_params, new_configs, losses_loop = nnlib.train_epoch(
    params_loop, configs_loop, X_loop, y_loop, nnlib.sgd_momentum, 4, np.random.default_rng(9))
print("losses:", np.round(losses_loop, 4))
print("configs returned:", {key: sorted(c) for key, c in new_configs.items()})
print("configs given:", configs_loop)

# %% [markdown]
# ### Exercise 6: `train_epoch` (15 points)
#
# Use **your** `mlp_loss` and `clip_by_global_norm` (the checker uses them too, so a mistake in
# them is not counted twice) and `nnlib.iterate_minibatches(X, y, batch_size, rng)`.
#
# <details><summary>Hint</summary>
#
# `params, configs = dict(params), dict(configs)` first. A copy of a config or `None`:
# `c = configs.get(key)`, then `None if c is None else dict(c)`. About 12 lines.
# </details>

# %% nbgrader={"grade_id": "train_epoch", "solution": true}
def train_epoch(params, configs, X, y, update_rule, batch_size, rng, max_norm=None):
    """One epoch of mini-batch training of a network without batch norm.

    params: dict W1 b1 ... WL bL; configs: dict of optimizer configs by key (a key may be
    missing: its update uses None). X (N, D), y (N,); update_rule: (w, dw, config) ->
    (next_w, config); batch_size: int; rng: Generator for the batch order; max_norm: clip the
    gradients to this global norm, or None for no clipping.
    Returns (params, configs, losses): new dicts (the ones given are not changed) and the list
    of the loss of every batch.
    """
    ### BEGIN SOLUTION
    params, configs = dict(params), dict(configs)
    losses = []
    for X_batch, y_batch in nnlib.iterate_minibatches(X, y, batch_size, rng):
        loss, grads = mlp_loss(params, X_batch, y_batch)
        if max_norm is not None:
            grads, _ = clip_by_global_norm(grads, max_norm)
        for key in params:
            config = configs.get(key)
            params[key], configs[key] = update_rule(params[key], grads[key],
                                                    None if config is None else dict(config))
        losses.append(loss)
    return params, configs, losses
    ### END SOLUTION


# %%
mine = train_epoch(params_loop, configs_loop, X_loop, y_loop, nnlib.sgd_momentum, 4,
                   np.random.default_rng(9))
print("losses:", np.round(mine[2], 4))

# %% nbgrader={"grade_id": "test_train_epoch", "grade": true, "points": 15}
check("train_epoch", train_epoch)
### BEGIN HIDDEN TESTS
check("train_epoch", train_epoch, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Ten layers deep: initialisation and batch norm at work
#
# Now your functions on a real deep network: 64 inputs, **nine hidden layers** of 64 ReLU units
# and 10 outputs, ten layers in all, on the digits. Four variants start from the same random
# numbers: Glorot or your He initialisation, each with and without batch norm (on every hidden
# layer, $\gamma = 1$, $\beta = 0$ at the start).
#
# First, at initialisation, on a batch of 256 training digits: the scale (standard deviation)
# of every hidden layer's output, and of every layer's weight gradient from your `mlp_loss`.

# %%
DEEP_SIZES = [64] + [64] * 9 + [10]
VARIANTS = {"Glorot": ("glorot", False), "He": (he_normal, False),
            "Glorot + batch norm": ("glorot", True), "He + batch norm": (he_normal, True)}


def deep_start(variant):
    init, batchnorm = VARIANTS[variant]
    return nnlib.init_mlp(DEEP_SIZES, np.random.default_rng(10), init=init, batchnorm=batchnorm)


X_probe, y_probe = X_tr[:256], y_tr[:256]
grad_scales = {}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
for variant in VARIANTS:
    start = deep_start(variant)
    act_std = [h.std() for h in hidden_activations(start, X_probe)]
    _, start_grads = mlp_loss(start, X_probe, y_probe)
    grad_std = grad_scales[variant] = [start_grads[f"W{i}"].std() for i in range(1, 11)]
    style = "--" if "batch" in variant else "-"
    ax1.semilogy(range(1, 10), act_std, style, marker="o", ms=3, label=variant)
    ax2.semilogy(range(1, 11), grad_std, style, marker="o", ms=3, label=variant)
ax1.set(xlabel="hidden layer", ylabel="std of the layer's output (log)",
        title="Activations at initialisation")
ax2.set(xlabel="layer", ylabel="std of d loss / d W (log)",
        title="Weight gradients at initialisation (your mlp_loss)")
ax1.legend(fontsize=8)
fig.tight_layout()
plt.show()
print("std of d loss / d W, He divided by Glorot, layers 1 to 10:", np.round(
    np.array(grad_scales["He"]) / np.array(grad_scales["Glorot"]), 1))

# %% [markdown]
# With Glorot alone the activations shrink layer after layer, and the weight gradients are far
# smaller than with He in every layer (the ratios printed above).
# Batch norm resets the scale at every layer, whatever the initialisation: both batch-normalised
# variants keep the same activation scale in every layer.
#
# Then training: 12 epochs of plain SGD (learning rate 0.05, batches of 64) for each variant.
# The two networks without batch norm are trained with **your** `train_epoch`. For the
# batch-normalised ones `train_epoch`'s contract does not fit (their `mlp_loss` needs
# `bn_params`), so `bn_epoch` below runs nnlib's version of the same loop
# (`nnlib.training_loop.run_epoch`, which takes the loss function as an argument) with **your**
# `mlp_loss` and `bn_params`; the running statistics then give the validation accuracy in test
# mode (`nnlib.mlp_accuracy`).

# %%
def bn_epoch(params, configs, bn_params, X, y, update_rule, batch_size, rng, max_norm=None):
    """One epoch of a batch-normalised network: the loop of train_epoch, with your mlp_loss
    updating the running statistics in bn_params (one dict per hidden layer)."""
    def loss_with_bn(p, X_batch, y_batch):
        return mlp_loss(p, X_batch, y_batch, bn_params)
    return run_epoch(params, configs, X, y, update_rule, batch_size, rng, max_norm,
                     loss_fn=loss_with_bn, clip_fn=clip_by_global_norm)


def train_deep(params, update_rule, configs, epochs, batch_size=64, seed=11, max_norm=None,
               batchnorm=False, X=X_tr, y=y_tr):
    """Epochs of your train_epoch (or bn_epoch); returns params, bn_params, the batch losses
    and the validation accuracy after every epoch."""
    rng = np.random.default_rng(seed)
    bn_params = nnlib.new_bn_params(params) if batchnorm else None
    batch_losses, val_acc = [], []
    for _ in range(epochs):
        if batchnorm:
            params, configs, losses = bn_epoch(params, configs, bn_params, X, y, update_rule,
                                               batch_size, rng, max_norm)
        else:
            params, configs, losses = train_epoch(params, configs, X, y, update_rule,
                                                  batch_size, rng, max_norm)
        batch_losses += losses
        val_acc.append(nnlib.mlp_accuracy(params, X_va, y_va, bn_params))
        if not np.isfinite(losses[-1]):
            break  # diverged: every later step would only produce nan
    return params, bn_params, np.array(batch_losses), np.array(val_acc)


deep_runs = {}
for variant, (_, batchnorm) in VARIANTS.items():
    start = deep_start(variant)
    configs = {key: {"learning_rate": 0.05} for key in start}
    deep_runs[variant] = train_deep(start, nnlib.sgd, configs, 12, batchnorm=batchnorm)

STEPS_PER_EPOCH = int(np.ceil(len(y_tr) / 64))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
for variant, (_, _, losses, val_acc) in deep_runs.items():
    style = "--" if "batch" in variant else "-"
    per_epoch = losses.reshape(-1, STEPS_PER_EPOCH).mean(axis=1)
    ax1.plot(np.arange(1, len(per_epoch) + 1), per_epoch, style, marker="o", ms=3,
             label=variant)
    ax2.plot(np.arange(1, len(val_acc) + 1), val_acc, style, marker="o", ms=3, label=variant)
ax1.set(xlabel="epoch", ylabel="training loss (mean over the epoch)", yscale="log",
        title="Ten layers, SGD 0.05, your functions")
ax2.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1),
        title="Accuracy on held-out digits")
ax2.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()
for variant, (_, _, losses, val_acc) in deep_runs.items():
    per_epoch = losses.reshape(-1, STEPS_PER_EPOCH).mean(axis=1)
    print(f"{variant:20s} loss in epochs 1-3: {np.round(per_epoch[:3], 2)}, after epoch 12: "
          f"{per_epoch[-1]:.3f}; validation accuracy {val_acc[-1]:.3f}")

# %% [markdown]
# The Glorot network sits on a **plateau** for the first epochs: its loss stays near
# $\log 10 \approx 2.30$, the loss of guessing, because the signal that reaches the last layers
# is too faint to learn from; only slowly does SGD grow the weights enough to get going. With He
# the same network learns from the first epoch. With batch norm both initialisations learn from
# the start, and alike: the normalisation makes the network care much less about how its
# weights were scaled. That robustness, and that it allows larger learning rates, is why batch
# norm (or its relatives, layer and group norm) sits in most deep networks.
#
# ## 8. Clipping in action
#
# A deliberately explosive setting: the ten-layer He network without batch norm, SGD with
# momentum 0.9 and a learning rate of 0.1, too large for it. Once without clipping, once with
# your `clip_by_global_norm` at `max_norm = 1` inside your `train_epoch`; 8 epochs each, from
# the same start.

# %%
def momentum_configs(params, learning_rate):
    return {key: {"learning_rate": learning_rate, "momentum": 0.9} for key in params}


clip_runs = {}
with np.errstate(all="ignore"):  # the run without clipping overflows on purpose
    for max_norm in (None, 1.0):
        start = deep_start("He")
        clip_runs[max_norm] = train_deep(start, nnlib.sgd_momentum,
                                         momentum_configs(start, 0.1), 8, max_norm=max_norm)

fig, ax = plt.subplots(figsize=(8, 3.6))
for max_norm, (_, _, losses, _) in clip_runs.items():
    label = "no clipping" if max_norm is None else f"clipped at max_norm = {max_norm:g}"
    ax.semilogy(np.arange(1, len(losses) + 1) / STEPS_PER_EPOCH, losses, lw=1, label=label)
ax.set(xlabel="epoch", ylabel="batch loss (log)", ylim=(1e-3, 1e4),
       title="Ten layers, SGD with momentum 0.9, learning rate 0.1")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
for max_norm, (_, _, losses, val_acc) in clip_runs.items():
    finite = losses[np.isfinite(losses)]
    print(f"max_norm {max_norm}: {len(losses)} steps, largest finite batch loss "
          f"{finite.max():.3g}, last loss {losses[-1]:.3g}, validation accuracy "
          f"{val_acc[-1]:.3f}")

# %% [markdown]
# Without clipping the loss climbs, spikes, and ends as `nan`: a step along a huge gradient
# makes the next gradient larger still, until the numbers overflow (the curve stops there). With
# clipping the same learning rate trains: no gradient that goes into the velocity is longer than
# `max_norm`, so one bad batch can no longer throw the network away. Clipping is cheap
# insurance; it is standard for recurrent networks and transformers, whose gradients are
# prone to such spikes.
#
# ## 9. Learning-rate schedules
#
# A constant learning rate is a compromise. Early in training large steps make fast progress;
# late in training the noise of mini-batch gradients (notebook 04) keeps a large-step SGD
# jittering around the minimum, and only smaller steps let it settle. So most training runs
# change the rate as they go, following a **schedule**: $\eta_t$ for step $t = 0, 1, \dots,
# T - 1$.
#
# - **Step decay**: divide the rate by 10 (say) at fixed steps.
# - **Cosine decay**: a smooth half cosine from the base rate $\eta$ down to a floor
#   $\eta_{min}$.
# - **Warm-up**: start *small*. In the first steps the network is far from anything sensible,
#   gradients are large and erratic, and Adam's running averages (or momentum) have seen only a
#   few of them; a full-size step then can throw the weights somewhere bad. A warm-up raises
#   the rate linearly over the first $W$ steps.
#
# Warm-up followed by cosine decay, in the convention of this course (steps counted from 0):
#
# $$
# \eta_t = \begin{cases}
# \eta\, \dfrac{t + 1}{W} & t < W \\[2ex]
# \eta_{min} + \tfrac12 (\eta - \eta_{min}) \big(1 + \cos(\pi p)\big), \quad
# p = \dfrac{t - W}{\max(1,\ T - 1 - W)} & t \ge W .
# \end{cases}
# $$
#
# The warm-up's first step already has $\eta / W$ and its last ($t = W - 1$) reaches $\eta$; the
# cosine starts at $p = 0$ with $\eta$ and ends at $p = 1$, the last step $T - 1$, with
# $\eta_{min}$. The $\max(1, \dots)$ only matters when the warm-up lasts until the last step.

# %%
T_demo = 200
steps_demo = np.arange(T_demo)
fig, ax = plt.subplots(figsize=(8, 3.2))
ax.plot(steps_demo, np.full(T_demo, 0.1), label="constant 0.1")
ax.plot(steps_demo, [nnlib.step_decay(t, 0.1, 70) for t in steps_demo],
        label="step decay: ÷10 every 70 steps")
ax.plot(steps_demo, [nnlib.warmup_cosine(t, T_demo, 0.1, 20, 0.005) for t in steps_demo],
        label="warm-up 20 steps + cosine to 0.005")
ax.set(xlabel="step t", ylabel="learning rate", title=f"Three schedules over {T_demo} steps")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Worked example
#
# $T = 10$ steps, $\eta = 0.1$, $W = 3$, $\eta_{min} = 0$: the warm-up gives
# $0.1 \cdot \tfrac13, \tfrac23, \tfrac33 = 0.0333, 0.0667, 0.1$ at steps 0, 1, 2; the cosine
# runs over $T - 1 - W = 6$ steps: step 3 has $p = 0$ (0.1), step 6 has $p = \tfrac12$
# ($0.5 \cdot 0.1 \cdot (1 + \cos \tfrac\pi2) = 0.05$), step 9 has $p = 1$ (0).

# %%
print(np.round([nnlib.warmup_cosine(t, 10, 0.1, 3) for t in range(10)], 4))

# %% [markdown]
# ### Exercise 7: `warmup_cosine` (10 points)

# %% nbgrader={"grade_id": "warmup_cosine", "solution": true}
def warmup_cosine(step, total_steps, base_lr, warmup_steps=0, min_lr=0.0):
    """The learning rate at `step` (0 <= step < total_steps) of a linear warm-up over
    warmup_steps steps (0 <= warmup_steps < total_steps) followed by a cosine decay from
    base_lr to min_lr at the last step. Returns a float.

    Hint: about 4 lines; math.cos or np.cos, and max(1, ...) in the denominator of p.
    """
    ### BEGIN SOLUTION
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    p = (step - warmup_steps) / max(1, total_steps - 1 - warmup_steps)
    return float(min_lr + 0.5 * (base_lr - min_lr) * (1 + np.cos(np.pi * p)))
    ### END SOLUTION


# %%
print(np.round([warmup_cosine(t, 10, 0.1, 3) for t in range(10)], 4))

# %% nbgrader={"grade_id": "test_warmup_cosine", "grade": true, "points": 10}
check("warmup_cosine", warmup_cosine)
### BEGIN HIDDEN TESTS
check("warmup_cosine", warmup_cosine, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# A schedule plugs into any update rule: `nnlib.scheduled(update_rule, lr_at)` is an update
# rule that sets `config["learning_rate"] = lr_at(step)` before each step, counting the steps in
# its config. Three schedules on the same network (64 - 128 - 128 - 10, He, no batch norm),
# SGD with momentum 0.9 and a base rate of 0.15, 15 epochs, with your `train_epoch` and your
# `warmup_cosine`: constant, step decay ($\div 10$ after each third of the steps), and one epoch
# of warm-up followed by cosine decay.

# %%
SCHEDULE_EPOCHS = 15
SCHEDULE_SIZES = [64, 128, 128, 10]
T_sched = SCHEDULE_EPOCHS * STEPS_PER_EPOCH
schedules = {
    "constant": lambda t: 0.15,
    "step decay": lambda t: nnlib.step_decay(t, 0.15, T_sched // 3),
    "warm-up + cosine": lambda t: warmup_cosine(t, T_sched, 0.15, STEPS_PER_EPOCH),
}
schedule_runs = {}
for name, lr_at in schedules.items():
    start = nnlib.init_mlp(SCHEDULE_SIZES, np.random.default_rng(12), init=he_normal)
    schedule_runs[name] = train_deep(start, nnlib.scheduled(nnlib.sgd_momentum, lr_at),
                                     {key: {"momentum": 0.9} for key in start}, SCHEDULE_EPOCHS)

fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
for name, lr_at in schedules.items():
    _, _, losses, val_acc = schedule_runs[name]
    axes[0].plot(np.arange(T_sched) / STEPS_PER_EPOCH, [lr_at(t) for t in range(T_sched)],
                 label=name)
    per_epoch = losses.reshape(-1, STEPS_PER_EPOCH).mean(axis=1)
    axes[1].semilogy(np.arange(1, SCHEDULE_EPOCHS + 1), per_epoch, "o-", ms=3, label=name)
    axes[2].plot(np.arange(1, SCHEDULE_EPOCHS + 1), val_acc, "o-", ms=3, label=name)
axes[0].set(xlabel="epoch", ylabel="learning rate", title="The schedules")
axes[1].set(xlabel="epoch", ylabel="training loss (log)", title="Training loss per epoch")
axes[2].set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.5, 1.0),
            title="Validation accuracy")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()
for name, (_, _, losses, val_acc) in schedule_runs.items():
    print(f"{name:17s} training loss in the last epoch "
          f"{losses[-STEPS_PER_EPOCH:].mean():.4f}, validation accuracy {val_acc[-1]:.3f}")

# %% [markdown]
# A constant rate of 0.15 is too large to settle with: the training loss keeps jumping up and
# down to the end. Both decaying schedules start with the same large steps and then come down
# to rates at which the loss can go much lower, and they end with a lower training loss. How
# high a base rate a schedule tolerates, and how long a warm-up it needs, is one of the first
# things to tune in practice.
#
# ### Explore: base rate and warm-up
#
# Adam on the ten-layer He network without batch norm, warm-up + cosine over 5 epochs
# (95 steps), your `train_epoch` and `warmup_cosine`. Every combination of the two sliders was
# trained in advance (20 short runs, from the same start, with the same batches); the panel
# draws your schedule (left) and that run's batch losses (right; grey: the same base rate
# without warm-up).
#
# - At small base rates warm-up changes little.
# - At large ones, watch the first steps: without warm-up the loss jumps far above where it
#   started before it comes down; even a short warm-up takes the jump away (the numbers are
#   printed under the panel).
# - Too large a base rate fails with or without warm-up: a schedule cannot rescue a rate that
#   is too large in the middle of training.

# %%
PANEL_EPOCHS = 5
T_panel = PANEL_EPOCHS * STEPS_PER_EPOCH
BASE_RATES = [0.001, 0.003, 0.01, 0.03, 0.1]
WARMUPS = [0, 10, 30, 60]
panel_runs = {}
with np.errstate(all="ignore"):
    for base in BASE_RATES:
        for warmup in WARMUPS:
            start = deep_start("He")
            rule = nnlib.scheduled(
                nnlib.adam, lambda t, base=base, warmup=warmup: warmup_cosine(
                    t, T_panel, base, warmup))
            _, _, losses, val_acc = train_deep(start, rule, {}, PANEL_EPOCHS, seed=13)
            panel_runs[base, warmup] = (losses, val_acc[-1])
PANEL_FIGSIZE = (10, 3.6)


def draw_schedule_background(fig):
    ax1 = fig.add_axes((0.07, 0.15, 0.38, 0.74))
    ax2 = fig.add_axes((0.57, 0.15, 0.41, 0.74))
    ax1.set(xlim=(0, T_panel), ylim=(0, 1.05), xlabel="step",
            ylabel="learning rate / base rate", title="Your warm-up + cosine schedule")
    ax2.set(xlim=(0, T_panel), ylim=(0.005, 100), yscale="log", xlabel="step",
            ylabel="batch loss (log)", title=f"Adam, ten layers, {PANEL_EPOCHS} epochs")


schedule_background = plots.render_static_layer(draw_schedule_background, PANEL_FIGSIZE)
panel_steps = np.arange(T_panel)


def draw_schedule(fig, base_rate, warmup_steps):
    ax1, ax2 = plots.add_static_layer(fig, schedule_background)
    lrs = np.array([warmup_cosine(t, T_panel, base_rate, warmup_steps) for t in panel_steps])
    ax1.plot(panel_steps, lrs / base_rate, color="C3")
    losses, accuracy = panel_runs[base_rate, warmup_steps]
    plain, _ = panel_runs[base_rate, 0]
    ax2.plot(np.arange(len(plain)), np.clip(plain, 0.005, 100), color="0.7", lw=1)
    ax2.plot(np.arange(len(losses)), np.clip(losses, 0.005, 100), color="C3", lw=1)
    start_loss, early = losses[0], losses[:20].max()
    final = losses[-STEPS_PER_EPOCH:].mean()
    return (f"base rate {base_rate:g}, {warmup_steps} warm-up steps: first batch loss "
            f"{start_loss:.2f}, highest in the first 20 steps {early:.3g}, mean over the last "
            f"epoch {final:.3g}, validation accuracy {accuracy:.3f}")


schedule_panel = slider_panel(
    draw_schedule,
    {"base_rate": widgets.SelectionSlider(options=BASE_RATES, value=0.03,
                                          description="base learning rate"),
     "warmup_steps": widgets.SelectionSlider(options=WARMUPS, value=0,
                                             description="warm-up steps")},
    figsize=PANEL_FIGSIZE, title="Warm-up and base rate")
schedule_panel

# %%
for base in (0.01, 0.03):
    print(f"base rate {base}: highest loss in the first 20 steps " + ", ".join(
        f"{panel_runs[base, w][0][:20].max():.3g} with {w} warm-up steps" for w in WARMUPS))

# %% [markdown]
# ## 10. Weight decay: L2 through Adam, or AdamW
#
# Notebook 05 regularised with an **L2 penalty** $\tfrac{\lambda}{2} \|w\|^2$: its gradient
# $\lambda w$ is added to every weight's gradient. With plain SGD that is the same as **weight
# decay**, shrinking every weight by a fixed fraction each step:
# $w \leftarrow w - \eta (dw + \lambda w) = (1 - \eta\lambda)\, w - \eta\, dw$.
#
# With Adam it is not. Adam divides each coordinate's gradient by $\sqrt{\hat v}$, the typical
# size of *its* gradients, and the L2 term $\lambda w$ is divided too: a weight whose gradients
# are large hardly decays, a weight whose gradients are small decays a lot. (At the very first
# step $\hat m / \sqrt{\hat v}$ is $\pm 1$, the sign of the penalised gradient: how large the
# penalty is does not matter at all.) **AdamW** (Loshchilov and Hutter, 2019) *decouples* the
# decay from the gradient and adds it to the step directly, the same for every weight:
#
# $$
# w \leftarrow w - \eta \left( \frac{\hat m}{\sqrt{\hat v} + \varepsilon} + \lambda_{wd}\, w
# \right),
# $$
#
# with $t$, $m$, $v$, $\hat m$, $\hat v$ exactly as in Adam (notebook 04). Each step then shrinks
# every weight by the fraction $\eta \lambda_{wd}$; through Adam, L2 shrinks it by about
# $\eta \lambda / \sqrt{\hat v}$, which depends on the weight's gradient history. The picture:
# that per-step fraction against $\sqrt{\hat v}$, for $\eta = 0.002$, $\lambda = 10^{-3}$ and
# $\lambda_{wd} = 0.5$.

# %%
root_v = np.geomspace(1e-4, 1e-1, 100)
fig, ax = plt.subplots(figsize=(6.5, 3.4))
ax.loglog(root_v, 0.002 * 1e-3 / root_v, label="L2 through Adam: η λ / √v̂")
ax.loglog(root_v, np.full_like(root_v, 0.002 * 0.5), label="AdamW: η λ_wd")
ax.set(xlabel="√v̂: the typical size of a weight's gradient", ylabel="decay per step",
       title="How much of a weight each step takes away")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Worked example
#
# `w = [1.0]`, `dw = [0.5]`, default Adam settings and `weight_decay = 0.1`, first step: Adam's
# part is $\hat m / (\sqrt{\hat v} + \varepsilon) = 0.5 / 0.5 = 1$ (notebook 04's worked
# example), so `next_w` $= 1 - 0.001 \cdot (1 + 0.1 \cdot 1) = 0.9989$, where Adam alone gives
# 0.999. The config gets `weight_decay = 0.1` and Adam's `t`, `m`, `v`.

# %%
print(nnlib.adamw(np.array([1.0]), np.array([0.5]), {"weight_decay": 0.1}))

# %% [markdown]
# ### Exercise 8: `adamw` (10 points)
#
# Adam's defaults and state, plus `weight_decay` (default `1e-2`). You may call `nnlib.adam`
# (or copy your `adam` from notebook 04) for Adam's part; decay the weights `w` you were given.

# %% nbgrader={"grade_id": "adamw", "solution": true}
def adamw(w, dw, config=None):
    """One step of AdamW: Adam's step plus decoupled weight decay.

    w: parameter array; dw: gradient (same shape); config: dict or None with Adam's keys
    ("learning_rate" 1e-3, "beta1" 0.9, "beta2" 0.999, "epsilon" 1e-8, state "m", "v", "t")
    and "weight_decay" (1e-2). Returns (next_w, config):
    next_w = w - learning_rate * (m_hat / (sqrt(v_hat) + epsilon) + weight_decay * w), with
    t, m, v, m_hat, v_hat as in adam. w is not modified.

    Hint: about 5 lines.
    """
    ### BEGIN SOLUTION
    config = {} if config is None else config
    config.setdefault("weight_decay", 1e-2)
    adam_w, config = nnlib.adam(w, dw, config)
    return adam_w - config["learning_rate"] * config["weight_decay"] * w, config
    ### END SOLUTION


# %%
print(adamw(np.array([1.0]), np.array([0.5]), {"weight_decay": 0.1}))

# %% nbgrader={"grade_id": "test_adamw", "grade": true, "points": 10}
check("adamw", adamw)
### BEGIN HIDDEN TESTS
check("adamw", adamw, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# The same network (64 - 128 - 128 - 10, He) trained three times for 15 epochs with learning
# rate 0.002 and your `train_epoch`: Adam without any decay, Adam with an L2 penalty of
# $\lambda = 10^{-3}$ on the weights (added to their gradients by a small update rule,
# `adam_l2` below), and your `adamw` with $\lambda_{wd} = 0.5$ on the weights, which takes
# $0.002 \cdot 0.5 = 0.001$ of each weight every step. Biases are not decayed in either (a
# config per key makes that easy). On the left, for every weight, the decay per step it actually
# received at the end of training: $\eta\lambda / (\sqrt{\hat v} + \varepsilon)$ through Adam,
# $\eta \lambda_{wd}$ with AdamW.

# %%
def adam_l2(w, dw, config):
    """Adam on the gradient plus an L2 penalty's gradient config["l2"] * w."""
    return nnlib.adam(w, dw + config.get("l2", 0.0) * w, config)


DECAY_EPOCHS, DECAY_LR = 15, 0.002
decay_settings = {
    "Adam, no decay": (adam_l2, "l2", 0.0),
    "Adam + L2, λ = 0.001": (adam_l2, "l2", 1e-3),
    "AdamW, λ_wd = 0.5": (adamw, "weight_decay", 0.5),
}
decay_runs = {}
for name, (rule, key_name, strength) in decay_settings.items():
    start = nnlib.init_mlp(SCHEDULE_SIZES, np.random.default_rng(14), init=he_normal)
    configs = {key: {"learning_rate": DECAY_LR, key_name: strength if key[0] == "W" else 0.0}
               for key in start}
    decay_rng = np.random.default_rng(15)
    val_acc = []
    for _ in range(DECAY_EPOCHS):
        start, configs, _ = train_epoch(start, configs, X_tr, y_tr, rule, 64, decay_rng)
        val_acc.append(nnlib.mlp_accuracy(start, X_va, y_va))
    decay_runs[name] = (start, configs, np.array(val_acc))


def decay_per_step(name):
    """The fraction of each weight taken away per step at the end of training, all layers."""
    params, configs, _ = decay_runs[name]
    _, key_name, strength = decay_settings[name]
    parts = []
    for key in params:
        if key[0] != "W":
            continue
        if key_name == "weight_decay":
            parts.append(np.full(params[key].size, DECAY_LR * strength))
        else:
            c = configs[key]
            v_hat = c["v"] / (1 - c["beta2"] ** c["t"])
            parts.append((DECAY_LR * strength / (np.sqrt(v_hat) + c["epsilon"])).ravel())
    return np.concatenate(parts)


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.6))
l2_decay = decay_per_step("Adam + L2, λ = 0.001")
ax1.hist(np.log10(l2_decay), bins=60, range=(-4.5, -1.5), color="C1", label="Adam + L2")
ax1.axvline(np.log10(DECAY_LR * 0.5), color="C2", lw=2, label="AdamW: every weight")
ax1.set(xlabel="log10 of the decay per step", ylabel="number of weights",
        title="Decay each weight received")
ax1.legend(fontsize=8)
for i, (name, (_, _, val_acc)) in enumerate(decay_runs.items()):
    ax2.plot(np.arange(1, DECAY_EPOCHS + 1), val_acc, "o-", ms=3, color=f"C{i}", label=name)
ax2.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.85, 1.0),
        title="Validation accuracy")
ax2.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()
low, median, high = np.percentile(l2_decay, [5, 50, 95])
print(f"Adam + L2: decay per step from {low:.2g} (5th percentile) over {median:.2g} (median) to "
      f"{high:.2g} (95th percentile), a factor of {high / low:.0f}; AdamW: "
      f"{DECAY_LR * 0.5:.2g} for every weight")
blank = np.flatnonzero(X_tr.std(axis=0) == 0)          # pixels blank in every training image
blank_decay = decay_per_step("Adam + L2, λ = 0.001")[:64 * 128].reshape(64, 128)[blank]
print(f"{np.sum(l2_decay > 10**-1.5)} of {l2_decay.size} weights lie right of the histogram, "
      f"among them {np.sum(blank_decay > 10**-1.5)} of the {blank_decay.size} first-layer "
      f"weights of the {len(blank)} pixels that are blank in every training image: weights "
      "without a gradient of their own, which L2 through Adam pulls to 0 in steps of about the "
      "learning rate")
for name, (params, _, val_acc) in decay_runs.items():
    norms = [np.linalg.norm(params[f"W{i}"]) for i in (1, 2, 3)]
    print(f"{name:22s} weight norms {np.round(norms, 1)}, validation accuracy {val_acc[-1]:.3f}")

# %% [markdown]
# The two regularisers take away about as much in total (compare the weight norms, both below
# those without decay), but very differently: through Adam, the L2 penalty's decay differs from
# one weight to the next by the factor printed above, and it is smallest for exactly the
# weights whose gradients are largest. AdamW's decay is one number, the same for every
# weight, and it does not interfere with Adam's scaling of the gradient. On this small problem
# the validation accuracies are within a few digits of each other; on large networks trained for
# long, AdamW's decoupled decay regularises more predictably and its strength is easier to tune,
# which is why it is the default optimizer for training transformers.
#
# ## 11. Capstone: your own recipe, 97 % on the test digits
#
# Everything together: choose an architecture and settings, train with **your** functions, and
# reach **at least 97 % accuracy on the test set**, the 359 digits that nothing so far has
# looked at. Use the validation accuracy to compare settings; look at the test accuracy only
# for your final choice (otherwise you tune to the test set, and its accuracy no longer
# tells you how the network does on new digits). Both sets are small, so their accuracies can
# differ by a point or so; the goal is on the test set.
#
# Set the dict `RECIPE` in the next cell; the cell after it trains and plots. What to try:
#
# - **Width and depth**: `layer_sizes` from 64 inputs to 10 classes. One or two hidden layers
#   of a few hundred to a thousand units do well on 8x8 digits; depth helps less here than
#   width.
# - **Batch norm** on every hidden layer (`batchnorm=True`) lets you use a larger rate.
# - **AdamW** with a learning rate around $10^{-3}$ to $3 \cdot 10^{-3}$, `weight_decay` on the
#   weights (0.01 to 0.3), a **warm-up** of a few epochs' worth of steps and cosine decay to 0
#   over 30 to 50 epochs.
# - `max_norm` for clipping, if the loss spikes.
#
# Training for 40 epochs takes a few seconds. Runs with different seeds end a few test digits
# apart (each digit is 1/359 of the test set), so aim for some margin above 97 %.

# %% nbgrader={"grade_id": "capstone_recipe", "solution": true}
RECIPE = dict(layer_sizes=[64, 64, 10], batchnorm=False, init="glorot", learning_rate=1e-3,
              weight_decay=0.0, warmup_steps=0, epochs=10, batch_size=64, max_norm=None)
### BEGIN SOLUTION
RECIPE = dict(layer_sizes=[64, 1024, 10], batchnorm=False, init="he", learning_rate=2e-3,
              weight_decay=0.1, warmup_steps=50, epochs=40, batch_size=64, max_norm=None)
### END SOLUTION

# %%
def train_recipe(recipe, seed=16):
    """Train a fresh network by the recipe with your functions (adamw, warmup_cosine,
    train_epoch or bn_epoch); returns params, bn_params, batch losses, validation accuracies."""
    init = he_normal if recipe["init"] == "he" else recipe["init"]
    params = nnlib.init_mlp(recipe["layer_sizes"], np.random.default_rng(seed), init=init,
                            batchnorm=recipe["batchnorm"])
    steps = recipe["epochs"] * int(np.ceil(len(y_tr) / recipe["batch_size"]))
    rule = nnlib.scheduled(adamw, lambda t: warmup_cosine(t, steps, recipe["learning_rate"],
                                                          recipe["warmup_steps"]))
    configs = {key: {"weight_decay": recipe["weight_decay"] if key[0] == "W" else 0.0}
               for key in params}
    return train_deep(params, rule, configs, recipe["epochs"], recipe["batch_size"],
                      seed + 1, recipe["max_norm"], recipe["batchnorm"])


final_params, final_bn, final_losses, final_val = train_recipe(RECIPE)
test_accuracy = nnlib.mlp_accuracy(final_params, X_te, y_te, final_bn)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.6))
steps_per_epoch = int(np.ceil(len(y_tr) / RECIPE["batch_size"]))
ax1.semilogy(np.arange(1, len(final_losses) + 1) / steps_per_epoch, final_losses, lw=0.8)
ax1.set(xlabel="epoch", ylabel="batch loss (log)", title="Training")
ax2.plot(np.arange(1, len(final_val) + 1), final_val, "o-", ms=3, label="validation")
ax2.axhline(test_accuracy, color="C3", ls="--", label=f"test, at the end: {test_accuracy:.4f}")
ax2.axhline(0.97, color="0.5", ls=":", label="the goal: 0.97")
ax2.set(xlabel="epoch", ylabel="accuracy", ylim=(0.8, 1.0),
        title=f"{' - '.join(map(str, RECIPE['layer_sizes']))}"
              f"{', batch norm' if RECIPE['batchnorm'] else ''}")
ax2.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()
print(f"validation accuracy {final_val[-1]:.4f}; test accuracy {test_accuracy:.4f} "
      f"({round(test_accuracy * len(y_te))} of {len(y_te)} test digits right, one digit is "
      f"{100 / len(y_te):.2f} %): "
      + ("goal reached" if test_accuracy >= 0.97 else "below 0.97 — change the recipe"))

# %% [markdown]
# ## Summary
#
# - Through a deep ReLU network, each layer multiplies the signal's second moment by
#   $n\,\mathrm{Var}(w)/2$. **He initialisation**, $\mathrm{Var}(w) = 2/\text{fan\_in}$, makes
#   that factor 1; Glorot's halves it per layer, and ten layers leave the later ones almost
#   nothing to learn from at first.
# - **Batch normalisation** normalises each feature over the batch (population variance), then
#   scales and shifts with learned $\gamma$, $\beta$; it keeps running statistics for **test
#   mode**. Its backward pass has three paths per input: direct, through the mean and through the
#   variance.
# - A network of **any depth** is a loop of layers, with the caches kept for a backward loop in
#   reverse; the **training loop** shuffles the rows into batches with a generator that advances
#   from epoch to epoch, and keeps one optimizer config per parameter array, copying what it must
#   not change.
# - **Gradient clipping** by the global norm caps the length of the gradient and keeps its
#   direction: cheap insurance against a single exploding step.
# - A **learning-rate schedule** lets training take large steps early and small ones late;
#   **warm-up** keeps the first, most erratic steps small.
# - With Adam, an **L2 penalty** decays each weight according to its gradient history;
#   **AdamW** decays every weight by the same fraction $\eta \lambda_{wd}$ per step.
#
# These are the parts of a modern training recipe that do not depend on the kind of network:
# the same ideas train convolutional networks and transformers.
