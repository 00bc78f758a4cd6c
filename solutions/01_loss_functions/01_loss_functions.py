# %% [markdown]
# # 01 Loss functions
#
# A network learns by making one number small: the **loss**. The loss looks at the network's
# predictions for a batch of examples, compares them with the right answers, and says in a
# single number how wrong they are. Training is nothing but nudging the parameters, again and
# again, so that this number goes down. Choosing the loss is choosing what "good" means.
#
# By the end of this notebook you will be able to
#
# - compute the **mean squared error** (MSE) for regression, and explain why we take the *mean*
#   over a batch rather than the sum;
# - turn a row of raw scores into class probabilities with the **softmax**;
# - compute the **cross-entropy loss** as minus the log of the probability of the true class;
# - make both **numerically stable**, so that scores like 1000 or 10000 neither overflow nor
#   give `nan` (subtracting the maximum, log-sum-exp, log-softmax);
# - plug your own losses into `nnlib` and train real networks with them.
#
# | exercise | points |
# |---|---|
# | `mse_loss` | 25 |
# | `softmax` | 35 |
# | `cross_entropy_loss` | 40 |
#
# Run the cells from top to bottom. Before each exercise the pictures use `nnlib`'s reference
# implementation of the same function; after it, the notebook uses *yours*.

# %% nbgrader={"grade_id": "setup", "locked": true}
import matplotlib.pyplot as plt
import numpy as np

import nnlib
from autograder import check
from nnlib import plots
from nnlib.datasets import load_digits, make_regression_1d
from nnlib.widgets import float_slider, slider_panel

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Regression: the mean squared error
#
# In **regression** the network predicts numbers: a price, a temperature, the height of a curve.
# For each example $i$ we have a prediction $\hat y_i$ and the true value (the *target*) $y_i$.
# Their difference $\hat y_i - y_i$ is the *residual*. The mean squared error averages the
# squared residuals:
#
# $$
# \mathrm{MSE}(\hat y, y) \;=\; \frac{1}{N} \sum_{i=1}^{N} \left(\hat y_i - y_i\right)^2 .
# $$
#
# Squaring makes every error count as positive (an over- and an under-estimate must not cancel),
# and it punishes large errors much more than small ones: an error of 3 costs 9 times as much as
# an error of 1. When each example has several outputs ($y$ of shape $(N, K)$) we average over
# all $N \cdot K$ entries.
#
# Below: a noisy sine curve (the data) and the simplest possible model, a line through the
# origin $\hat y = w\,x$. The grey segments are the residuals for $w = 0.3$. On the right, the
# MSE of the line for every slope $w$: a parabola whose lowest point is the best line. Training
# will be the search for that lowest point.

# %%
rng = np.random.default_rng(0)
x_curve, t_curve = make_regression_1d(40, noise=0.2, rng=rng)   # (40, 1) each

w_example = 0.3
slopes = np.linspace(-0.4, 1.0, 141)
mse_per_slope = [nnlib.mse_loss(w * x_curve, t_curve) for w in slopes]

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
ax1.vlines(x_curve[:, 0], t_curve[:, 0], w_example * x_curve[:, 0], color="0.7", lw=1,
           label="residuals")
ax1.scatter(x_curve, t_curve, s=14, label="data $(x_i, y_i)$")
ax1.plot(x_curve, w_example * x_curve, "C3", label=rf"model $\hat y = {w_example}\,x$")
ax1.set(xlabel="x", ylabel="y", title="Predictions and residuals")
ax1.legend(fontsize=8)
ax2.plot(slopes, mse_per_slope)
ax2.plot(w_example, nnlib.mse_loss(w_example * x_curve, t_curve), "C3o")
best = slopes[np.argmin(mse_per_slope)]
ax2.axvline(best, color="0.6", ls="--", lw=1)
ax2.set(xlabel="slope w", ylabel="MSE", title=f"MSE of every line (best w = {best:.2f})")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Worked example
#
# Four predictions and their targets:
#
# | $i$ | $\hat y_i$ | $y_i$ | $\hat y_i - y_i$ | $(\hat y_i - y_i)^2$ |
# |---|---|---|---|---|
# | 1 | 2.5 | 3.0 | -0.5 | 0.25 |
# | 2 | 0.0 | -0.5 | 0.5 | 0.25 |
# | 3 | 2.0 | 2.0 | 0.0 | 0.00 |
# | 4 | 8.0 | 7.0 | 1.0 | 1.00 |
#
# $\mathrm{MSE} = (0.25 + 0.25 + 0 + 1) / 4 = 1.5 / 4 = 0.375$.
# Note that the single error of size 1 contributes two thirds of the loss.

# %% [markdown]
# ### Exercise 1: `mse_loss` (25 points)
#
# Return the mean over **every entry** of `(y_pred - y_true) ** 2` as a Python `float`. It must
# work for any shape, e.g. `(N,)`, `(N, 1)` or `(N, K)`, and must not change its inputs. There is
# no factor $\tfrac12$ and no square root.
#
# <details><summary>Hint 1: no loop needed</summary>
#
# NumPy works on whole arrays: subtracting two arrays of the same shape subtracts entry by
# entry, and `** 2` squares every entry.
#
# </details>
#
# <details><summary>Hint 2: the mean over every entry</summary>
#
# `np.mean` without an `axis` averages over all entries, whatever the shape, so `(N,)`,
# `(N, 1)` and `(N, K)` need no special case. `float(...)` turns the NumPy scalar it returns
# into a Python `float`.
#
# </details>

# %% nbgrader={"grade_id": "mse_loss", "solution": true}
def mse_loss(y_pred, y_true):
    """Mean squared error between predictions and targets.

    y_pred, y_true: arrays of the same shape, e.g. (N,), (N, 1) or (N, K).
    Returns a Python float: the mean over *every* entry of (y_pred - y_true) ** 2
    (one or two lines).
    """
    ### BEGIN SOLUTION
    diff = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    return float(np.mean(diff ** 2))
    ### END SOLUTION


# %%
print(mse_loss(np.array([2.5, 0.0, 2.0, 8.0]), np.array([3.0, -0.5, 2.0, 7.0])))  # 0.375

# %% nbgrader={"grade_id": "test_mse_loss", "grade": true, "points": 25}
check("mse_loss", mse_loss)
### BEGIN HIDDEN TESTS
check("mse_loss", mse_loss, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Why the *mean* and not the sum?
#
# We could just as well add the squared errors up: $L_\text{sum} = \sum_i \ell_i$ instead of
# $L_\text{mean} = \frac1N \sum_i \ell_i$. Both have their minimum at the same parameters. The
# difference shows up in training, which works on **mini-batches** of $N$ examples and moves each
# parameter $w$ by $-\eta \, \partial L / \partial w$ (with a learning rate $\eta$):
#
# $$
# \frac{\partial L_\text{sum}}{\partial w} = \sum_{i=1}^{N} \frac{\partial \ell_i}{\partial w}
# \quad\text{grows like } N,
# \qquad
# \frac{\partial L_\text{mean}}{\partial w} = \frac1N \sum_{i=1}^{N}
# \frac{\partial \ell_i}{\partial w} \quad\text{stays the same size.}
# $$
#
# With the sum, doubling the batch size doubles every step: a learning rate that works for
# batches of 32 is ten times too large for batches of 320, and the loss values of a small and
# a large batch (or of the training and the validation set) cannot be compared. With the mean,
# the loss and its gradient are *per example*: they do not depend on $N$; a larger batch only
# makes them less noisy.
#
# The picture draws 20 random batches of every size from the sine data and evaluates the line
# $\hat y = 1.0\,x$ on them (slope 1, well away from the best slope, so that the gradient is
# clearly not zero). The sum and its gradient climb with the batch size; the mean stays put and
# only its spread narrows.

# %%
rng = np.random.default_rng(1)
x_pool, t_pool = make_regression_1d(4096, noise=0.2, rng=rng)
batch_sizes = 2 ** np.arange(0, 12)
rows = []
for n in batch_sizes:
    for _ in range(20):                                   # 20 random batches of each size
        idx = rng.choice(len(x_pool), size=n, replace=False)
        xb, tb = x_pool[idx], t_pool[idx]
        loss_mean = nnlib.mse_loss(1.0 * xb, tb)
        grad_mean = float((nnlib.mse_loss_backward(1.0 * xb, tb) * xb).sum())  # dL/dw at w = 1
        rows.append((n, loss_mean, n * loss_mean, abs(grad_mean), n * abs(grad_mean)))
rows = np.array(rows)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for ax, col, what in ((axes[0], 1, "loss"), (axes[1], 3, "|gradient dL/dw|")):
    ax.loglog(rows[:, 0], rows[:, col + 1], ".", color="C3", alpha=0.4, label="sum over batch")
    ax.loglog(rows[:, 0], rows[:, col], ".", color="C0", alpha=0.4, label="mean over batch")
    ax.set(xlabel="batch size N", ylabel=what, title=f"{what}: sum vs mean")
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Classification: from scores to probabilities
#
# In **classification** each example belongs to one of $C$ classes, e.g. the digit $0..9$ in an
# image. The last layer of the network outputs one real number per class, a **score** (also called
# a *logit*) $s_1, \dots, s_C$: any value, positive or negative, with no meaning other than
# "higher means more likely". The **softmax** turns these scores into probabilities:
#
# $$
# p_k \;=\; \operatorname{softmax}(s)_k \;=\; \frac{e^{s_k}}{\sum_{j=1}^{C} e^{s_j}} .
# $$
#
# - $e^{s}$ is positive for every $s$, so every $p_k > 0$; dividing by the sum makes the row
#   add up to 1.
# - A higher score always means a higher probability, and the exponential exaggerates
#   differences: a score larger by 1 means a probability $e \approx 2.72$ times larger.
# - Adding the same constant $c$ to every score changes nothing, because $e^{c}$ cancels:
#   $\frac{e^{s_k + c}}{\sum_j e^{s_j + c}} = \frac{e^{c} e^{s_k}}{e^{c} \sum_j e^{s_j}} = p_k$.
#   Remember this one; it will save us in section 4.
#
# For a batch, `scores` has shape $(N, C)$ and the softmax is applied to each row separately.

# %%
scores_example = np.array([[2.0, 1.0, 0.1]])
fig, axes = plt.subplots(1, 3, figsize=(11, 3))
for ax, s, title in ((axes[0], scores_example, "scores s = [2, 1, 0.1]"),
                     (axes[1], scores_example, "softmax(s)"),
                     (axes[2], 3 * scores_example, "softmax(3 s): sharper")):
    values = s[0] if ax is axes[0] else nnlib.softmax(s)[0]
    ax.bar(["class 0", "class 1", "class 2"], values, color=["C0", "C1", "C2"])
    for k, v in enumerate(values):
        ax.text(k, v, f"{v:.3f}", ha="center", va="bottom", fontsize=9)
    ax.set_title(title)
    if ax is not axes[0]:
        ax.set_ylim(0, 1.1)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Worked example
#
# For the scores $s = (2.0,\ 1.0,\ 0.1)$:
#
# | | class 0 | class 1 | class 2 | sum |
# |---|---|---|---|---|
# | $s_k$ | 2.0 | 1.0 | 0.1 | |
# | $e^{s_k}$ | 7.389 | 2.718 | 1.105 | 11.213 |
# | $p_k = e^{s_k} / 11.213$ | 0.659 | 0.242 | 0.099 | 1.000 |
#
# And with the constant $-2$ added to every score, $s - 2 = (0,\ -1,\ -1.9)$:
# $e^{s-2} = (1,\ 0.368,\ 0.150)$, sum $1.517$, and $p = (0.659,\ 0.242,\ 0.099)$ again.
# The cell below computes the table and the shifted scores.

# %%
for shift in (0.0, -2.0):
    e_s = np.exp(scores_example[0] + shift)
    print(f"s = {scores_example[0] + shift}:  exp = {e_s},  sum = {e_s.sum():.4f},  "
          f"p = {e_s / e_s.sum()}")

# %% [markdown]
# ## 4. Numerical stability: when $e^{s}$ overflows
#
# Computers store real numbers as 64-bit floats, and the largest one is about
# $1.8 \times 10^{308}$. Since $\ln(1.8 \times 10^{308}) \approx 709.8$, the exponential of
# anything above 709.8 is too large to store: NumPy returns `inf` (infinity) and warns about an
# overflow. (With 32-bit floats, common on GPUs, the limit is already at 88.7.) Scores of a few
# hundred or thousand are not unusual in a network that is very sure of itself, or in one that is
# diverging. Watch the textbook formula break:

# %%
print("largest float64:", np.finfo(np.float64).max, "  its log:", np.log(np.finfo(np.float64).max))
print("largest float32:", np.finfo(np.float32).max, "  its log:",
      np.log(np.float64(np.finfo(np.float32).max)))
print("exp(709) =", np.exp(709.0))
print("exp(710) =", np.exp(710.0))                      # overflow: inf, with a warning

big = np.array([1000.0, 1000.0, 999.0])
naive = np.exp(big) / np.exp(big).sum()                 # inf / inf
print("naive softmax of [1000, 1000, 999]:", naive)

# %% [markdown]
# `inf / inf` is `nan` ("not a number"), and one `nan` in a loss spreads through every gradient
# and every parameter it touches: training is over. The other direction fails too: for scores
# like $-1000$, $e^{-1000}$ *underflows* to exactly $0$, and $0/0$ is `nan` as well.
#
# **The fix** is the property from section 3: subtract a constant $c$ from every score; the
# probabilities do not change. Choose $c = \max_j s_j$, the row's largest score:
#
# $$
# p_k = \frac{e^{s_k - m}}{\sum_j e^{s_j - m}}, \qquad m = \max_j s_j .
# $$
#
# Now every exponent $s_k - m$ is $\le 0$, so every $e^{s_k - m}$ lies in $(0, 1]$: nothing can
# overflow. And the largest score gives $e^{0} = 1$, so the denominator is at least 1: no division
# by zero, ever.
#
# ### Worked example
#
# For $s = (1000,\ 1000,\ 999)$: $m = 1000$, $s - m = (0,\ 0,\ -1)$,
# $e^{s-m} = (1,\ 1,\ 0.368)$, sum $2.368$, so $p = (0.422,\ 0.422,\ 0.155)$.
# The same answer as for $s = (1, 1, 0)$, or for $(10000, 10000, 9999)$.

# %%
shifted = big - big.max()
print("s - max(s) =", shifted, "  exp =", np.exp(shifted))
print("stable softmax of [1000, 1000, 999]:", np.exp(shifted) / np.exp(shifted).sum())

# %% [markdown]
# ### Exercise 2: `softmax` (35 points)
#
# Write the row-wise softmax of an `(N, C)` array of scores. It must give finite probabilities
# for any finite scores (the test uses scores like $10^4$ and $-10^4$) and must not trigger any
# NumPy overflow warning. Do not modify `scores`.
#
# <details><summary>Hint 1: the formula to code</summary>
#
# The stable formula of section 4, row by row: subtract the row's maximum $m$ from every
# score of the row, exponentiate, divide by the row's sum. Three steps, each one line.
#
# </details>
#
# <details><summary>Hint 2: one value per row</summary>
#
# `scores.max(axis=1)` gives the `N` row maxima, shape `(N,)`, and `.sum(axis=1)` the row
# sums. With `keepdims=True` they keep the shape `(N, 1)`, which broadcasts against `(N, C)`:
# every entry of row `i` is combined with the value of row `i`. (Without it, an `(N,)` array
# would be lined up with the *columns*, and fail or silently give nonsense.)
#
# </details>
#
# <details><summary>Hint 3: not in place</summary>
#
# `scores - m` makes a new array; `scores -= m` would change the caller's array. Build new
# arrays at every step.
#
# </details>

# %% nbgrader={"grade_id": "softmax", "solution": true}
def softmax(scores):
    """Row-wise softmax of a batch of scores.

    scores: (N, C) array, one row of C class scores per example.
    Returns an (N, C) array of probabilities: every row sums to 1. It must stay finite, without
    overflow warnings, for any finite scores (e.g. 1e4). About 3 lines.
    """
    ### BEGIN SOLUTION
    scores = np.asarray(scores, dtype=float)
    exps = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)
    ### END SOLUTION


# %%
print(softmax(np.array([[2.0, 1.0, 0.1], [1000.0, 1000.0, 999.0], [-1e4, 0.0, 1e4]])))

# %% nbgrader={"grade_id": "test_softmax", "grade": true, "points": 35}
check("softmax", softmax)
### BEGIN HIDDEN TESTS
check("softmax", softmax, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Cross-entropy: minus the log of the true class's probability
#
# Now we can score a classifier. For example $i$ with true label $y_i$, the network gives the
# true class the probability $p_{i, y_i}$. A perfect network gives it probability 1. The
# **cross-entropy loss** of the example is
#
# $$
# \ell_i = -\log p_{i, y_i},
# \qquad
# L = \frac{1}{N} \sum_{i=1}^{N} -\log p_{i, y_i} \quad\text{(the mean over the batch, as before).}
# $$
#
# Only the true class's probability appears, but the others are not ignored: the probabilities
# sum to 1, so raising $p_{i,y_i}$ means lowering the rest.
#
# Why the logarithm?
#
# - **It fits probabilities.** The probability the model gives to the whole training set is the
#   product $\prod_i p_{i,y_i}$ (examples treated as independent). The log turns the product into a
#   sum, so minimising the mean of $-\log p_{i,y_i}$ is *maximising the likelihood* of the data.
# - **It punishes confident mistakes without limit.** $-\log p$ is 0 at $p = 1$ and grows to
#   infinity as $p \to 0$: a network that is sure and wrong pays a lot, and gets a strong gradient
#   to change its mind.
# - **A handy sanity check.** A network that knows nothing gives every class $1/C$, so its loss is
#   $-\log(1/C) = \log C$: $\log 10 \approx 2.30$ for ten digits. A freshly initialised network
#   should start near that value.

# %%
p = np.linspace(0.005, 1, 400)
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(p, -np.log(p))
for pk in (0.9, 0.5, 0.1, 0.01):
    ax.plot(pk, -np.log(pk), "C3o")
    ax.annotate(f"p={pk}: loss {-np.log(pk):.2f}", (pk, -np.log(pk)), xytext=(8, 4),
                textcoords="offset points", fontsize=9)
ax.set(xlabel="probability of the true class $p_{i,y_i}$", ylabel=r"loss $-\log p$",
       title="Cross-entropy of one example")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Picking each row's true class.** With probabilities `P` of shape `(N, C)` and labels `y` of
# shape `(N,)`, NumPy's *integer array indexing* `P[np.arange(N), y]` picks `P[0, y[0]]`,
# `P[1, y[1]]`, ... — one entry per row. (`P[:, y]` would be an `(N, N)` array: every row at every
# label. Not what we want.)

# %%
P = np.array([[0.7, 0.2, 0.1],
              [0.1, 0.3, 0.6]])
y_small = np.array([0, 2])
print("P[np.arange(2), y] =", P[np.arange(2), y_small])     # [0.7, 0.6]

# %% [markdown]
# ### Worked example
#
# A batch of two examples with three classes:
#
# | $i$ | scores $s_i$ | $y_i$ | softmax $p_i$ | $p_{i,y_i}$ | $-\log p_{i,y_i}$ |
# |---|---|---|---|---|---|
# | 0 | (2.0, 1.0, 0.1) | 0 | (0.659, 0.242, 0.099) | 0.659 | 0.417 |
# | 1 | (0.5, 2.5, -1.0) | 2 | (0.116, 0.858, 0.026) | 0.026 | 3.653 |
#
# $L = (0.417 + 3.653) / 2 = 2.035$. The second example, where the network put only 2.6 % on the
# true class, makes up almost 90 % of the loss (the cell below computes the table with `nnlib`).

# %%
scores_table, y_table = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 2])
p_table = nnlib.softmax(scores_table)
losses_table = -np.log(p_table[np.arange(2), y_table])
print("softmax rows:\n", p_table)
print("per-example losses:", losses_table, "  mean:", round(losses_table.mean(), 4),
      f"  share of example 1: {losses_table[1] / losses_table.sum():.1%}")

# %% [markdown]
# ## 6. Stable cross-entropy: log-softmax and log-sum-exp
#
# Computing `-np.log(softmax(scores))` still breaks, even with your stable softmax. Take the
# scores $(0, 1000)$ with true class 0. The true probability is $e^{-1000}$, about $10^{-434}$:
# smaller than the smallest float, so it *underflows* to exactly 0, and $-\log 0 = \infty$.
# Yet the loss itself is a perfectly ordinary number, 1000. The trick is never to form the tiny
# probability at all and to take the log on paper first:
#
# $$
# \log p_k = \log \frac{e^{s_k}}{\sum_j e^{s_j}} = s_k - \log \sum_j e^{s_j}
# = s_k - \operatorname{LSE}(s),
# $$
#
# where the **log-sum-exp** $\operatorname{LSE}(s) = \log \sum_j e^{s_j}$ is computed with the
# same max-subtraction as before:
#
# $$
# \operatorname{LSE}(s) = m + \log \sum_j e^{s_j - m}, \qquad m = \max_j s_j .
# $$
#
# The sum inside the log is between 1 and $C$, so its log is harmless. The vector
# $s - \operatorname{LSE}(s)$ is called the **log-softmax**.
#
# ### Worked example
#
# $s = (0, 1000)$, $y = 0$: $m = 1000$, $\sum_j e^{s_j - m} = e^{-1000} + e^{0} = 1$ (to double
# precision), so $\operatorname{LSE}(s) = 1000 + \log 1 = 1000$, $\log p_0 = 0 - 1000 = -1000$
# and the loss is $1000$. With the scores of the previous table, row 0:
# $\operatorname{LSE}(2, 1, 0.1) = 2 + \log(1 + e^{-1} + e^{-1.9}) = 2 + \log 1.517 = 2.417$,
# and $-\log p_0 = -(2 - 2.417) = 0.417$, as before.

# %%
s_far = np.array([[0.0, 1000.0]])
print(f"e^-1000 = 10^{-1000 / np.log(10):.1f}, but as a float64:", np.exp(-1000.0))
print("log(softmax(s))  =", np.log(nnlib.softmax(s_far)))   # log(0) = -inf, with a warning
print("log-softmax(s)   =", nnlib.log_softmax(s_far))       # finite: [-1000, 0]
print("LSE(2, 1, 0.1) =", round(2 + np.log(np.exp(scores_table[0] - 2).sum()), 4),
      "  -log p_0 =", round(-nnlib.log_softmax(scores_table)[0, 0], 4))

# %% [markdown]
# ### Exercise 3: `cross_entropy_loss` (40 points)
#
# Return the mean over the batch of $-\log \operatorname{softmax}(s_i)_{y_i}$ as a Python
# `float`. It must stay finite (and free of NumPy warnings) for any finite scores, so compute
# the log-probabilities with log-sum-exp as above — not as `np.log(softmax(scores))`.
#
# <details><summary>Hint 1: the plan</summary>
#
# Three steps: the log-softmax of every row (an `(N, C)` array of log-probabilities), then the
# entry of the true class in each row (`N` numbers), then minus their mean.
#
# </details>
#
# <details><summary>Hint 2: the log-softmax, stably</summary>
#
# With $m$ the row maximum and $t = s - m$ the shifted scores of a row,
# $\log p_k = t_k - \log \sum_j e^{t_j}$. The shift needs the `(N, 1)` row maxima
# (`keepdims=True`, as in `softmax`), and so does the sum inside the log.
#
# </details>
#
# <details><summary>Hint 3: the true class of each row</summary>
#
# Integer array indexing, as in the `P[np.arange(2), y]` example above, picks one entry per
# row. The mean of the picked values, negated and passed through `float(...)`, is the loss.
#
# </details>

# %% nbgrader={"grade_id": "cross_entropy_loss", "solution": true}
def cross_entropy_loss(scores, y):
    """Mean cross-entropy of a batch of scores against integer labels.

    scores: (N, C) class scores; y: (N,) integer labels in [0, C).
    Returns a Python float: the mean over the N rows of -log softmax(scores)[i, y[i]]. It must
    stay finite, without NumPy warnings, for any finite scores (about 4 lines).
    """
    ### BEGIN SOLUTION
    scores = np.asarray(scores, dtype=float)
    shifted = scores - scores.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = scores.shape[0]
    return float(-logp[np.arange(n), np.asarray(y, dtype=int)].mean())
    ### END SOLUTION


# %%
print(cross_entropy_loss(np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 2])))  # 2.035
print(cross_entropy_loss(np.array([[0.0, 1000.0]]), np.array([0])))                          # 1000

# %% nbgrader={"grade_id": "test_cross_entropy_loss", "grade": true, "points": 40}
check("cross_entropy_loss", cross_entropy_loss)
### BEGIN HIDDEN TESTS
check("cross_entropy_loss", cross_entropy_loss, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Explore: how the loss responds to the scores
#
# Three classes, *cat* (the true class), *dog* and *fox*. Before scaling, their scores are
# $c$ (the first slider), 2.0 and 0.5; the second slider multiplies **all three** by a factor
# $k$, so the network's scores are $k \cdot (c,\ 2,\ 0.5)$ (a large factor makes the network
# more confident, a small one less). The right plot shows the loss for every position of the
# cat slider at the current factor; the readout shows the scaled scores.
#
# Things to try (the cell below prints the numbers):
#
# - Move the cat score far above dog's 2: the loss approaches 0 but never reaches it.
# - Move it far below: the loss grows along a straight line. For a very wrong network the
#   cross-entropy is about (best wrong score) − (true score), here $k \cdot (2 - c)$.
# - With the cat score at 1 (below dog), raise the factor: the network becomes *confidently
#   wrong*, and the loss grows in proportion to the factor, towards $k \cdot (2 - 1) = k$.
#   With the cat score at 3, the same factor drives the loss to 0.
# - Set the factor near 0: every class gets about 1/3 and the loss is about $\log 3$, whatever
#   the scores.

# %%
CLASS_NAMES = ["cat (true)", "dog", "fox"]
OTHER_SCORES = np.array([2.0, 0.5])
SCORE_GRID = np.linspace(-6, 8, 281)


def cat_loss(cat_score, factor):
    """-log p(cat) for the scores factor * (cat_score, 2.0, 0.5)."""
    scores = factor * np.concatenate([[cat_score], OTHER_SCORES])[None, :]
    return nnlib.cross_entropy_loss(scores, np.array([0]))


print(f"log 3 = {np.log(3):.3f}")
print("cat score -6, factor 1:", f"loss {cat_loss(-6.0, 1.0):.3f}", "  (2 - (-6) = 8)")
FACTORS = (0.05, 1, 2, 3, 5)
print("factor         " + "".join(f"{k:>8g}" for k in FACTORS))
for cat in (1.0, 3.0):
    print(f"cat score {cat:g}:   " + "".join(f"{cat_loss(cat, k):8.3f}" for k in FACTORS))


LOSS_FIGSIZE = (9, 3.4)


def draw_loss_background(fig):
    """The axes, ticks, labels and the log 3 line: drawn once, not at every redraw."""
    ax1 = fig.add_axes((0.07, 0.16, 0.27, 0.78))
    ax2 = fig.add_axes((0.43, 0.16, 0.55, 0.78))
    ax1.set(xticks=[0, 1, 2], xticklabels=CLASS_NAMES, yticks=[0, 0.5, 1], xlim=(-0.6, 2.6),
            ylim=(0, 1.02), ylabel="probability")
    ax2.axhline(np.log(3), color="0.6", ls=":", lw=1)
    ax2.axvline(OTHER_SCORES[0], color="0.75", ls="--", lw=1)
    ax2.text(OTHER_SCORES[0] + 0.15, 14.2, "dog's score before scaling", fontsize=8, color="0.45")
    ax2.set(xticks=[-5, 0, 5], yticks=[0, 5, 10, 15], xlim=(SCORE_GRID[0] - 0.7,
            SCORE_GRID[-1] + 0.7), ylim=(-0.2, 15),
            xlabel="cat score before scaling (the first slider)", ylabel="loss -log p(cat)")


loss_background = plots.render_static_layer(draw_loss_background, LOSS_FIGSIZE)


def draw_loss_explorer(fig, cat_score, factor):
    scores = factor * np.concatenate([[cat_score], OTHER_SCORES])[None, :]
    probs = nnlib.softmax(scores)[0]
    loss = cat_loss(cat_score, factor)
    grid_scores = factor * np.column_stack([SCORE_GRID,
                                            np.tile(OTHER_SCORES, (len(SCORE_GRID), 1))])
    grid_loss = -nnlib.log_softmax(grid_scores)[:, 0]

    ax1, ax2 = plots.add_static_layer(fig, loss_background)
    ax1.bar([0, 1, 2], probs, color=["C3", "0.6", "0.6"])
    ax2.plot(SCORE_GRID, grid_loss, "C0")
    ax2.plot([cat_score], [loss], "C3o")
    return (f"scaled scores = {factor:g} x ({cat_score:g}, 2, 0.5) = {np.round(scores[0], 2)}   "
            f"p = {np.round(probs, 4)}   loss = -log p(cat) = {loss:.3f}   "
            f"(dotted line: log 3 = {np.log(3):.3f})")


loss_explorer = slider_panel(
    draw_loss_explorer,
    {"cat_score": float_slider("cat score before scaling", 1.0, -6.0, 8.0, 0.1),
     "factor": float_slider("factor on all scores", 1.0, 0.05, 5.0, 0.05)},
    figsize=LOSS_FIGSIZE, title="Softmax and cross-entropy")
loss_explorer

# %% [markdown]
# ## 8. Your losses train networks
#
# `nnlib` builds networks from a set of functions, `nnlib.Ops`. By default it uses the reference
# implementations; `nnlib.Ops(loss=...)` swaps in yours. The backward pass (the gradient of the
# loss, the topic of notebook 03) still comes from `nnlib`.
#
# **Regression with your `mse_loss`.** A small network with one hidden layer of 32 ReLU units
# learns the noisy sine curve; the loss of every mini-batch is computed by your function, and
# the plot shows their mean over each epoch.

# %%
rng = np.random.default_rng(2)
x_fit, t_fit = make_regression_1d(200, noise=0.15, rng=rng)
regression_ops = nnlib.Ops(loss=mse_loss, loss_backward=nnlib.mse_loss_backward)
regressor = nnlib.MLP.create([1, 32, 1], rng, ops=regression_ops)
fit_history = nnlib.train(regressor, x_fit, t_fit, rng=rng, epochs=100, batch_size=32,
                          optim_config={"learning_rate": 1e-2})

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
x_line = np.linspace(-np.pi, np.pi, 200)[:, None]
ax1.scatter(x_fit, t_fit, s=8, alpha=0.5, label="data")
ax1.plot(x_line, regressor.predict_scores(x_line), "C3", lw=2, label="network")
ax1.plot(x_line, np.sin(x_line), "k--", lw=1, label="sin(x)")
ax1.set(xlabel="x", ylabel="y", title="The fitted curve")
ax1.legend(fontsize=8)
ax2.semilogy(np.arange(1, fit_history.epochs + 1), fit_history.train_loss,
             label="training loss (mean over the epoch)")
ax2.axhline(0.15 ** 2, color="0.4", ls=":", lw=1, label=f"noise variance 0.15² = {0.15 ** 2:.4f}")
ax2.set(xlabel="epoch", ylabel="your mse_loss", xlim=(0, fit_history.epochs),
        title="Training loss (log scale)")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"mean training loss over the last 20 epochs: {np.mean(fit_history.train_loss[-20:]):.4f}"
      f"   (noise variance {0.15 ** 2:.4f})")

# %% [markdown]
# The loss levels off near $0.15^2$, the variance of the noise added to the sine: no curve can
# predict the noise, so that is about the best MSE to expect on this data.
#
# **Classification with your `cross_entropy_loss`.** A network `64 - 32 - 10` learns to read the
# 8×8 handwritten digits. Watch the first value of the validation loss, measured before any
# training (epoch 0): it is close to $\log 10 \approx 2.30$, the loss of a network that guesses
# uniformly.

# %%
rng = np.random.default_rng(3)
X_digits, y_digits = load_digits()
X_tr, y_tr, X_val, y_val, X_te, y_te = nnlib.train_val_test_split(X_digits, y_digits, 0.2, 0.2, rng)
classifier = nnlib.MLP.create([64, 32, 10], rng, ops=nnlib.Ops(loss=cross_entropy_loss))
val_loss_before = classifier.loss(X_val, y_val)
print(f"validation loss before training: {val_loss_before:.3f}   (log 10 = {np.log(10):.3f})")
digit_history = nnlib.train(classifier, X_tr, y_tr, X_val, y_val, rng=rng, epochs=15,
                            batch_size=64, optim_config={"learning_rate": 1e-2})

epochs = np.arange(1, digit_history.epochs + 1)      # the history holds epochs 1, 2, ...
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
ax1.plot(epochs, digit_history.train_loss, "o-", ms=3, label="training (mean over the epoch)")
ax1.plot(np.r_[0, epochs], np.r_[val_loss_before, digit_history.val_loss], "o-", ms=3,
         label="validation (before training, then after each epoch)")
ax1.axhline(np.log(10), color="0.4", ls=":", lw=1, label="log 10: uniform guessing")
ax1.set(xlabel="epoch", ylabel="your cross_entropy_loss", title="Loss")
ax1.legend(fontsize=8)
ax2.plot(epochs, digit_history.train_acc, "o-", ms=3, label="training (after each epoch)")
ax2.plot(epochs, digit_history.val_acc, "o-", ms=3, label="validation")
ax2.set(xlabel="epoch", ylabel="accuracy", xlim=ax1.get_xlim(), ylim=(0, 1.02), title="Accuracy")
ax2.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Which digits cost the most?** Your `softmax` turns the trained network's test scores into
# probabilities, and the per-example loss $-\log p_{i,y_i}$ shows where the loss comes from. Most
# test digits cost almost nothing (note the log scale of the counts); a few confident mistakes
# cost a lot, and they make up a large share of the mean (printed under the picture). On the
# right: the six most expensive test digits, with their true label, the probability $p$ the
# network gave it, and its guess.

# %%
test_probs = softmax(classifier.predict_scores(X_te))
per_example = -np.log(np.maximum(test_probs[np.arange(len(y_te)), y_te], 1e-300))
test_loss = cross_entropy_loss(classifier.predict_scores(X_te), y_te)
print(f"test accuracy {np.mean(test_probs.argmax(axis=1) == y_te):.3f}, "
      f"your cross_entropy_loss on the test set {test_loss:.3f}")

worst = np.argsort(per_example)[::-1][:6]
fig = plt.figure(figsize=(11, 3.8))
grid = fig.add_gridspec(2, 6)
ax_hist = fig.add_subplot(grid[:, :3])
ax_hist.hist(per_example, bins=40, log=True)
ax_hist.set(xlabel=r"per-example loss $-\log p_{i,y_i}$", ylabel="number of test digits",
            title="Most test digits cost almost nothing")
for j, i in enumerate(worst):
    ax = fig.add_subplot(grid[j // 3, 3 + j % 3])
    ax.imshow(X_te[i].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"true {y_te[i]}, p={test_probs[i, y_te[i]]:.3f}\nguess {test_probs[i].argmax()}"
                 f", loss {per_example[i]:.1f}", fontsize=8)
    ax.axis("off")
fig.tight_layout()
plt.show()
print(f"the {len(worst)} most expensive of {len(y_te)} test digits make up "
      f"{per_example[worst].sum() / per_example.sum():.0%} of the test loss")

# %% [markdown]
# ## Summary
#
# - A **loss** is one number that says how wrong the predictions on a batch are; training makes
#   it small.
# - **MSE** $\frac1N \sum_i (\hat y_i - y_i)^2$ for regression: squares make errors positive and
#   punish large ones most.
# - We take the **mean** over the batch, not the sum, so the loss and its gradient are per
#   example: the same learning rate works for any batch size, and losses of different sets
#   compare.
# - **Softmax** $p_k = e^{s_k} / \sum_j e^{s_j}$ turns scores into probabilities; it does not
#   change when a constant is added to every score.
# - **Cross-entropy** $-\log p_{i,y_i}$ is small when the true class is likely and huge when the
#   network is confidently wrong; an untrained network scores about $\log C$.
# - **Numerical stability**: $e^{s}$ overflows above 709.8. Subtract the row maximum before
#   `exp` (softmax), and compute $\log p = s - \operatorname{LSE}(s)$ with
#   $\operatorname{LSE}(s) = m + \log\sum_j e^{s_j - m}$ (log-softmax) instead of taking the log
#   of a probability that may have underflowed to 0.
#
# Next, in notebook 02, we look at how to compute the *gradient* of a loss like these with
# respect to every parameter: the chain rule and computational graphs.
