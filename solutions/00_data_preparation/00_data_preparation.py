# %% [markdown]
# # 00 Data preparation
#
# Before a network sees a single example, the data has to be made fit for it. Real tables have
# holes, columns measured in wildly different units, labels stored as plain integers, and only
# one pile of rows from which we must both learn and judge what we learned. Getting this step
# wrong rarely crashes anything: the network just trains badly, or, worse, *seems* to work and
# then fails on new data.
#
# By the end of this notebook you will be able to
#
# - fill in **missing values** with statistics of the training rows;
# - **standardize** features so that they share one scale, and explain why gradient descent needs
#   it;
# - recognise **data leakage**: every statistic comes from the training split only, and is stored
#   and reused for everything else;
# - encode class labels **one-hot**;
# - make a shuffled **train / validation / test split**, and say what each part is for;
# - cut the training set into shuffled **mini-batches**, one **epoch** after another;
# - put it all together and train a network on a messy table with your own functions.
#
# | exercise | points |
# |---|---|
# | `impute_missing` | 20 |
# | `standardize` | 20 |
# | `one_hot` | 15 |
# | `train_val_test_split` | 20 |
# | `iterate_minibatches` | 25 |
#
# Before each exercise the pictures use `nnlib`'s reference implementation of the same function;
# after it, the notebook uses *yours*.

# %% nbgrader={"grade_id": "setup", "locked": true}
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

import nnlib
from autograder import check
from nnlib import plots
from nnlib.datasets import load_digits, load_housing, make_moons
from nnlib.ops import MSE
from nnlib.widgets import float_slider, slider_panel

np.set_printoptions(precision=3, suppress=True, linewidth=110)

# %% [markdown]
# ## 1. A messy table
#
# Our data: 400 houses, five features each, and the sale price (in thousands) that we would
# like to predict. Each row is one house, each column one feature. `NaN` ("not a number") marks
# a value nobody recorded.

# %%
X_house, price, feature_names = load_housing()
print("features:", feature_names)
print("X:", X_house.shape, "  price:", price.shape)
print(X_house[:6])
print("price of these houses:", price[:6])

# %% [markdown]
# Two problems stand out. Some values are missing, and the columns live on completely different
# scales: compare the rooms column with the income column.

# %%
missing = np.isnan(X_house)
rows_with_holes = missing.any(axis=1).sum()
print("missing values per column:", dict(zip(feature_names, missing.sum(axis=0).tolist())))
print(f"columns with at least one missing value: {missing.any(axis=0).sum()} of "
      f"{X_house.shape[1]}")
print(f"rows with at least one missing value: {rows_with_holes} of {len(X_house)} "
      f"({rows_with_holes / len(X_house):.0%})")

lo, hi = np.nanmin(X_house, axis=0), np.nanmax(X_house, axis=0)
for name, low, high in zip(feature_names, lo, hi):
    print(f"{name:>12s}: from {low:g} to {high:g}")
fig, ax = plt.subplots(figsize=(8, 2.8))
ax.hlines(range(5), lo, hi, lw=6, color="C0", alpha=0.6)
ax.plot(np.nanmean(X_house, axis=0), range(5), "k|", ms=14, label="mean")
ax.set(xscale="log", yticks=range(5), yticklabels=feature_names, ylim=(-0.6, 4.6),
       xlabel="value (log scale)",
       title=f"Range of each feature: together from {lo.min():g} to {hi.max():,.0f}")
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 2. First, set rows aside: training, validation and test
#
# We want a model that works on houses it has **never seen**. The only honest way to measure
# that is to hide some rows from the whole preparation-and-training process and use them once, at
# the end. So before we clean anything, the rows are split into three parts:
#
# - the **training set**, from which the model *and every preparation step* learns;
# - the **validation set**, to compare choices (network size, learning rate, when to stop);
# - the **test set**, touched once at the very end, to report how well the final model works.
#
# You will write the splitting function yourself in Exercise 4; until then we use `nnlib`'s.
# Keep in mind for the next sections: **only the training rows are "known"**.

# %%
rng = np.random.default_rng(0)
X_tr, p_tr, X_va, p_va, X_te, p_te = nnlib.train_val_test_split(X_house, price, 0.2, 0.2, rng)
print("train", X_tr.shape, " validation", X_va.shape, " test", X_te.shape)

# %% [markdown]
# ## 3. Missing values
#
# A network cannot multiply by `NaN`: one missing value turns the whole prediction, the loss and
# every gradient into `NaN`. What can we do?
#
# - **Drop the rows** that have a hole: simple, but here it throws away every row counted in
#   section 1, and at prediction time we would have to refuse every house with a missing value.
# - **Drop the columns** with holes: throws away every column counted there, most of our
#   features.
# - **Impute**: fill each hole with a typical value of its column. The simplest typical value
#   is the **mean of the observed values** of that column *in the training set*:
#
# $$
# \mu_j = \frac{1}{|O_j|} \sum_{i \in O_j} x_{ij},
# \qquad O_j = \{\, i \text{ in the training set} : x_{ij} \text{ is not NaN} \,\},
# $$
#
# and then every `NaN` in column $j$, in any split, becomes $\mu_j$. (The median is a common
# alternative when a column has outliers; for our purposes the mean is fine.)
#
# Why the training mean, even when filling holes in the validation or test rows? Because at
# prediction time a new house arrives on its own, and the only statistics we have are the ones we
# computed while training. Section 5 shows what goes wrong otherwise.
#
# ### Worked example
#
# $$
# X_\text{train} = \begin{pmatrix} 1 & 10 \\ \text{NaN} & 20 \\ 3 & \text{NaN} \end{pmatrix}
# \qquad
# X = \begin{pmatrix} \text{NaN} & 5 \\ 7 & \text{NaN} \end{pmatrix}
# $$
#
# Column means of $X_\text{train}$ ignoring `NaN`: $\mu_1 = (1 + 3)/2 = 2$ and
# $\mu_2 = (10 + 20)/2 = 15$. So `impute_missing(X_train, X)` is
# $\begin{pmatrix} 2 & 5 \\ 7 & 15 \end{pmatrix}$: each hole gets the mean of *its own*
# column; values that were there stay as they were.

# %% [markdown]
# ### Exercise 1: `impute_missing` (20 points)
#
# Return a new float array; `X` itself must not change (the test also passes integer arrays, and
# `X_train` itself as `X`).
#
# <details><summary>Hint 1: the plan</summary>
#
# Two things are needed: one mean per column of `X_train`, and the positions of the holes in
# `X`. Then every hole gets the mean of *its* column. Work on a float copy of `X`
# (`np.array(X, dtype=float)` makes one), never on `X` itself.
#
# </details>
#
# <details><summary>Hint 2: the NumPy functions</summary>
#
# `np.mean` of a column that contains a `NaN` is `NaN`; `np.nanmean` ignores the `NaN`s, and
# with `axis=0` it gives one value per column, shape `(D,)`. `np.isnan(X)` is a boolean array
# shaped like `X`, `True` at every hole.
#
# </details>
#
# <details><summary>Hint 3: filling the holes</summary>
#
# `np.where(mask, a, b)` takes `a` where `mask` is `True` and `b` elsewhere, and broadcasts its
# arguments: an `(M, D)` mask, the `(D,)` array of means and the `(M, D)` copy of `X` give the
# filled `(M, D)` array in one call. (Assigning `means[cols]` at the positions that
# `np.nonzero(mask)` returns works too.)
#
# </details>

# %% nbgrader={"grade_id": "impute_missing", "solution": true}
def impute_missing(X_train, X):
    """Fill every NaN in X with the mean of its column in X_train (ignoring NaNs there).

    X_train: (N_train, D) the training rows, which provide the column means.
    X: (M, D) the rows to fill (X_train itself, or validation/test rows).
    Returns a new float array (M, D): X with each NaN in column j replaced by the NaN-ignoring
    mean of column j of X_train. X itself must stay unchanged (about 4 lines).
    """
    ### BEGIN SOLUTION
    X = np.array(X, dtype=float, copy=True)
    means = np.nanmean(np.asarray(X_train, dtype=float), axis=0)
    rows, cols = np.nonzero(np.isnan(X))
    X[rows, cols] = means[cols]
    return X
    ### END SOLUTION


# %%
print(impute_missing(np.array([[1.0, 10.0], [np.nan, 20.0], [3.0, np.nan]]),
                     np.array([[np.nan, 5.0], [7.0, np.nan]])))     # [[2, 5], [7, 15]]

# %% nbgrader={"grade_id": "test_impute_missing", "grade": true, "points": 20}
check("impute_missing", impute_missing)
### BEGIN HIDDEN TESTS
check("impute_missing", impute_missing, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# With your function, every split is filled using the **training** means:

# %%
X_tr_filled = impute_missing(X_tr, X_tr)
X_va_filled = impute_missing(X_tr, X_va)
X_te_filled = impute_missing(X_tr, X_te)
print("NaNs left:", np.isnan(X_tr_filled).sum(), np.isnan(X_va_filled).sum(),
      np.isnan(X_te_filled).sum())
print("training means used:", np.nanmean(X_tr, axis=0))

# %% [markdown]
# ## 4. Features on different scales
#
# Take the simplest model, a linear one, $\hat y = \sum_j w_j x_j + b$, trained by gradient
# descent on the mean squared error $L = \frac1N \sum_i (\hat y_i - y_i)^2$. The gradient for
# weight $w_j$ is
#
# $$
# \frac{\partial L}{\partial w_j} = \frac{2}{N} \sum_{i=1}^{N} (\hat y_i - y_i)\, x_{ij} .
# $$
#
# It is proportional to the feature $x_{ij}$ itself. The income column is more than ten
# thousand times larger than the rooms column (the cell below prints the ratio), so its
# gradient is that much larger too, while one learning rate $\eta$ has to serve every weight in
# $w_j \leftarrow w_j - \eta\, \partial L / \partial w_j$. A rate small enough that the income
# weight does not blow up barely moves the rooms weight; a rate that suits the rooms weight
# makes the income weight explode.
#
# Geometrically: the loss, seen as a landscape over the weights, is a long, narrow valley. The
# picture shows it for two features, the living area and the distance to the centre, whose
# spreads differ about eightfold (printed above the picture). To keep the picture
# two-dimensional we predict the price's deviation from its mean and subtract each feature's
# mean, so the model is
# $\hat y = w_1 x_\text{area} + w_2 x_\text{distance}$. The lines are contours of equal loss;
# the red path is 30 steps of gradient descent from $w = (0, 0)$, with the best constant learning
# rate for each problem, $\eta = 2 / (\lambda_\text{max} + \lambda_\text{min})$, where the
# $\lambda$ are the steepest and the flattest curvature of the valley.
#
# **Standardizing** divides every feature by its spread, so the valley becomes a round bowl and
# gradient descent walks straight to the bottom.

# %%
# The code of this picture is not part of any exercise: skim it or skip it.
pair = [0, 3]                                     # area_m2, distance_km
target = p_tr - p_tr.mean()                       # the price's deviation from its mean
A_centred = X_tr_filled[:, pair] - X_tr_filled[:, pair].mean(axis=0)
A_scaled = nnlib.standardize(X_tr_filled[:, pair], X_tr_filled[:, pair])   # reference version


def landscape(A, grid_size=90):
    """Everything the contour pictures need for features A (N, 2): a precomputed loss grid."""
    hessian = 2 / len(A) * A.T @ A                # the loss is a quadratic bowl with this Hessian
    w_best = np.linalg.solve(A.T @ A, A.T @ target)
    lam_min, lam_max = np.linalg.eigvalsh(hessian)   # its flattest and steepest curvature
    half = 1.3 * np.abs(w_best).max()
    w1, w2 = np.meshgrid(np.linspace(w_best[0] - half, w_best[0] + half, grid_size),
                         np.linspace(w_best[1] - half, w_best[1] + half, grid_size))
    W = np.stack([w1.ravel(), w2.ravel()], axis=1)
    loss = np.mean((A @ W.T - target[:, None]) ** 2, axis=0).reshape(w1.shape)
    loss_best = np.mean((A @ w_best - target) ** 2)
    levels = loss_best + (loss.max() - loss_best) * np.linspace(0, 1, 14)[1:] ** 2
    ticks1, ticks2 = ([t for t in MaxNLocator(4).tick_values(g.min(), g.max())
                       if g.min() <= t <= g.max()] for g in (w1, w2))
    return {"A": A, "w1": w1, "w2": w2, "loss": loss, "levels": levels, "w_best": w_best,
            "ticks1": ticks1, "ticks2": ticks2,
            "lr_max": 2 / lam_max, "lr_best": 2 / (lam_max + lam_min), "loss_best": loss_best}


def descend(scene, learning_rate, steps):
    """Gradient descent on the 2-D problem from w = (0, 0); returns the path (steps + 1, 2)."""
    A = scene["A"]
    def grad(w):
        return 2 / len(A) * A.T @ (A @ w - target)

    return nnlib.gradient_descent(grad, np.zeros(2), learning_rate, steps)


def remaining(scene, w):
    """How far w still is from the best weights, as a fraction of the distance from (0, 0)."""
    return np.linalg.norm(w - scene["w_best"]) / np.linalg.norm(scene["w_best"])


scenes = {False: landscape(A_centred), True: landscape(A_scaled)}
area_std, distance_std = A_centred.std(axis=0)
print(f"mean income / mean rooms = {X_tr_filled[:, 4].mean() / X_tr_filled[:, 1].mean():,.0f}")
print(f"spread (std) of the living area {area_std:.1f} m², of the distance {distance_std:.1f} km "
      f"(ratio {area_std / distance_std:.1f})")
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
for ax, scaled in zip(axes, (False, True)):
    scene = scenes[scaled]
    path = descend(scene, scene["lr_best"], 30)
    ax.contour(scene["w1"], scene["w2"], scene["loss"], levels=scene["levels"], cmap="viridis",
               linewidths=0.8)
    ax.plot(path[:, 0], path[:, 1], "o-", color="C3", ms=3, lw=1)
    ax.plot(*scene["w_best"], "k*", ms=12)
    ax.set_aspect("equal")
    ax.set(xlabel="w_area", ylabel="w_distance",
           title=("standardized features" if scaled else "raw features (centred only)")
           + f"\nafter 30 steps, {remaining(scene, path[-1]):.0%} of the way still to go")
fig.tight_layout()
plt.show()
print("standardized: still to go after step 1, 2, 3:",
      ", ".join(f"{remaining(scenes[True], w):.1%}"
                for w in descend(scenes[True], scenes[True]["lr_best"], 3)[1:]))

# %% [markdown]
# On the left the steps bounce from one wall of the narrow valley to the other and crawl along
# its floor: after 30 steps the weights are still far from the star (the best weights), although
# this was the best learning rate there is. A larger rate makes the zig-zag wider (and beyond
# $2/\lambda_\text{max}$ it diverges); a smaller one crawls even more slowly. On the right the
# contours are almost circles and gradient descent is at the star within a few steps (printed
# under the picture). Both panels show the *same* data and the same model; only the units of
# the features differ.
#
# ### Standardization
#
# For every column $j$, compute on the **training rows** the mean $\mu_j$ and the (population)
# standard deviation $\sigma_j$,
#
# $$
# \mu_j = \frac1N \sum_{i=1}^N x_{ij}, \qquad
# \sigma_j = \sqrt{\frac1N \sum_{i=1}^N (x_{ij} - \mu_j)^2}, \qquad
# x'_{ij} = \frac{x_{ij} - \mu_j}{\sigma_j} .
# $$
#
# Every standardized training column then has mean 0 and standard deviation 1: a value says
# "how many standard deviations above or below the average house". A column that is constant in
# the training set has $\sigma_j = 0$; it carries no information, and we divide it by 1 instead
# so that no `inf` or `NaN` appears.
#
# ### Worked example
#
# $$
# X_\text{train} = \begin{pmatrix} 1 & 100 & 5 \\ 3 & 300 & 5 \end{pmatrix},
# \quad \mu = (2,\ 200,\ 5),\quad \sigma = (1,\ 100,\ 0 \to 1),
# $$
#
# so for $X = \begin{pmatrix} 2 & 500 & 7 \end{pmatrix}$ the result is
# $\begin{pmatrix} (2-2)/1 & (500-200)/100 & (7-5)/1 \end{pmatrix} = \begin{pmatrix} 0 & 3 &
# 2 \end{pmatrix}$.

# %% [markdown]
# ### Exercise 2: `standardize` (20 points)
#
# <details><summary>Hint 1: which rows give the statistics</summary>
#
# `mu` and `sigma` come from `X_train` only, one value per column; they are then applied to
# `X`, whatever rows it holds. Nothing about `X` itself is measured.
#
# </details>
#
# <details><summary>Hint 2: the NumPy functions</summary>
#
# `.mean(axis=0)` and `.std(axis=0)` of an `(N, D)` array give `(D,)` arrays, one value per
# column; `np.std` computes the population standard deviation (`ddof=0`) by default, the one
# asked for. Subtracting and dividing `(D,)` arrays from an `(M, D)` array broadcasts row by
# row.
#
# </details>
#
# <details><summary>Hint 3: the constant columns</summary>
#
# Before dividing, replace every 0 in `sigma` by 1: `np.where(condition, value_if_true,
# value_if_false)` builds the corrected `sigma` in one line.
#
# </details>

# %% nbgrader={"grade_id": "standardize", "solution": true}
def standardize(X_train, X):
    """Standardize X with the column statistics of X_train.

    X_train: (N_train, D) the training rows; X: (M, D) any rows (training, validation, test).
    Returns (X - mu) / sigma as a new float array (M, D), where mu and sigma (shape (D,)) are the
    column means and population standard deviations of X_train. A column whose sigma is 0 is
    divided by 1 instead (about 4 lines).
    """
    ### BEGIN SOLUTION
    X_train = np.asarray(X_train, dtype=float)
    mu = X_train.mean(axis=0)
    sigma = X_train.std(axis=0)
    sigma = np.where(sigma == 0, 1.0, sigma)
    return (np.asarray(X, dtype=float) - mu) / sigma
    ### END SOLUTION


# %%
print(standardize(np.array([[1.0, 100.0, 5.0], [3.0, 300.0, 5.0]]), np.array([[2.0, 500.0, 7.0]])))

# %% nbgrader={"grade_id": "test_standardize", "grade": true, "points": 20}
check("standardize", standardize)
### BEGIN HIDDEN TESTS
check("standardize", standardize, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Now all five features, with a bias, trained by gradient descent with 95 % of the largest
# learning rate that does not diverge. Raw features: the income column dictates the learning
# rate, and the other weights hardly move. Standardized with your function: the loss drops to the
# best a linear model can do (the least-squares solution) within a few dozen steps.

# %%
# (Picture code again: gradient descent on all five features with a bias, as in the 2-D case.)
def linear_descent_curve(F, y, steps=200):
    """Loss per step of gradient descent for y ≈ [F, 1] @ w, at 95 % of the largest stable rate."""
    A = np.column_stack([F, np.ones(len(F))])
    lr = 0.95 * 2 / np.linalg.eigvalsh(2 / len(A) * A.T @ A)[-1]
    path = nnlib.gradient_descent(lambda w: 2 / len(A) * A.T @ (A @ w - y), np.zeros(A.shape[1]),
                                  lr, steps)
    return np.mean((path @ A.T - y) ** 2, axis=1)


raw_curve = linear_descent_curve(X_tr_filled, p_tr)
scaled_curve = linear_descent_curve(standardize(X_tr_filled, X_tr_filled), p_tr)
fig, ax = plt.subplots(figsize=(7, 3.4))
ax.semilogy(raw_curve, label="raw features")
ax.semilogy(scaled_curve, label="standardized features (yours)")
A_all = np.column_stack([X_tr_filled, np.ones(len(X_tr_filled))])
best_linear = np.mean((A_all @ np.linalg.lstsq(A_all, p_tr, rcond=None)[0] - p_tr) ** 2)
ax.axhline(best_linear, color="0.5", ls=":", lw=1, label="best linear model (least squares)")
ax.set(xlabel="gradient descent step", ylabel="training MSE (log scale)",
       title="Same model, same data, different units")
ax.legend()
fig.tight_layout()
plt.show()
for name, curve in (("raw", raw_curve), ("standardized", scaled_curve)):
    close = np.flatnonzero(curve <= 1.01 * best_linear)
    print(f"{name:>12s} features: " +
          (f"within 1 % of the best MSE ({best_linear:,.0f}) from step {close[0]} on"
           if close.size else f"not within 1 % of the best MSE ({best_linear:,.0f}) in "
           f"{len(curve) - 1} steps: {curve[-1]:,.0f} at the end"))

# %% [markdown]
# ### Explore: scaling and the learning rate
#
# The two-feature problem from above. Switch standardization on and off, change the learning
# rate (as a fraction of the largest stable one, $2/\lambda_\text{max}$, where
# $\lambda_\text{max}$ is the steepest curvature of the valley) and the number of steps.
#
# - Raw features: can *any* learning rate reach the star in 20 steps? Small rates creep along
#   the valley, large ones zig-zag across it.
# - Standardized: almost any rate works.
# - Above 1.0 both diverge: the steps overshoot more each time.

# %%
SCALING_FIGSIZE = (5.5, 4.2)


def draw_scaling_background(fig, scene):
    """What does not move: the contours, the star, the axes (drawn once per scene)."""
    ax = fig.add_axes((0.1, 0.13, 0.85, 0.78))
    ax.contour(scene["w1"], scene["w2"], scene["loss"], levels=scene["levels"], cmap="viridis",
               linewidths=0.8)
    ax.plot(*scene["w_best"], "k*", ms=12)
    ax.set(xlim=(scene["w1"].min(), scene["w1"].max()), ylim=(scene["w2"].min(), scene["w2"].max()),
           xticks=scene["ticks1"], yticks=scene["ticks2"], xlabel="w_area", ylabel="w_distance",
           aspect="equal")


scaling_backgrounds = {
    standardized: plots.render_static_layer(
        lambda fig, scene=scene: draw_scaling_background(fig, scene), SCALING_FIGSIZE)
    for standardized, scene in scenes.items()}


def draw_scaling(fig, standardized, lr_fraction, steps):
    scene = scenes[standardized]
    path = descend(scene, lr_fraction * scene["lr_max"], steps)
    (ax,) = plots.add_static_layer(fig, scaling_backgrounds[standardized])
    ax.plot(path[:, 0], path[:, 1], "o-", color="C3", ms=3, lw=1)
    loss = np.mean((scene["A"] @ path[-1] - target) ** 2)
    return (f"learning rate = {lr_fraction:.2f} x {scene['lr_max']:.3g} = "
            f"{lr_fraction * scene['lr_max']:.3g};  after {steps} steps: "
            f"{remaining(scene, path[-1]):.0%} of the way to go, loss {loss:,.0f} "
            f"(best {scene['loss_best']:,.0f})")


scaling_panel = slider_panel(
    draw_scaling,
    {"standardized": widgets.Checkbox(value=False, description="standardize the features"),
     "lr_fraction": float_slider("learning rate / largest stable", 0.5, 0.05, 1.05, 0.05),
     "steps": widgets.IntSlider(value=20, min=0, max=100, description="steps")},
    figsize=SCALING_FIGSIZE, title="Gradient descent on raw and standardized features")
scaling_panel

# %% [markdown]
# ## 5. Data leakage: statistics come from the training rows only
#
# Imputation and standardization *learn* something from data: means and standard deviations.
# Like the model's weights, they must be learned from the **training rows only**, stored, and then
# applied unchanged to validation rows, test rows and every future house. Two tempting shortcuts
# break this rule.
#
# **Shortcut 1: compute the statistics on all rows before splitting.** Then the test rows help
# decide how the training data looks, and so how the model is trained: information from the test
# set *leaks* into training, and the test score stops being an honest estimate of how the model
# does on houses it has never seen. With 400 well-behaved houses the leak is small, but it is
# there, and one unusual test row shows how far it can reach. Suppose a single test house has its
# income recorded in cents instead of dollars (100 times too large). With statistics from all
# rows, that one test row squeezes the income column of every *training* house:

# %%
X_te_typo = X_te_filled.copy()
X_te_typo[0, 4] *= 100                                    # one test income in cents
all_rows = np.concatenate([X_tr_filled, X_va_filled, X_te_typo])
income_right = standardize(X_tr_filled, X_tr_filled)[:, 4]
income_leaky = standardize(all_rows, X_tr_filled)[:, 4]   # statistics from every row

fig, ax = plt.subplots(figsize=(7, 3))
bins = np.linspace(-3.5, 3.5, 36)
ax.hist(income_right, bins=bins, alpha=0.6, label="statistics from the training rows")
ax.hist(income_leaky, bins=bins, alpha=0.6,
        label="statistics from all rows (one test income in cents)")
ax.set(xlabel="standardized income of the training houses", ylabel="houses")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"spread of the training incomes: {income_right.std():.2f} (right) vs "
      f"{income_leaky.std():.2f} (leaky)")

# %% [markdown]
# Nothing about the training houses changed, yet what the network would be trained on did —
# because of a row that was supposed to be unseen.
#
# **Shortcut 2: each split (or each new batch of houses) standardized with its own statistics.**
# This one silently gives wrong predictions. Suppose the test set happens to contain only the
# larger houses. Standardized with *their own* mean, a house of their typical size looks
# "average" (close to 0), although it is large by the training standard, so a model trained on
# the training statistics predicts an average price for it. And a single
# new house standardized on its own has $\sigma = 0$ in every column: every feature becomes 0
# and every house gets the same prediction.
#
# Below, a linear model fitted by least squares on the standardized training rows predicts the
# 40 largest houses of the validation and test sets, once with the training statistics and once
# with the statistics of those 40 houses.

# %%
Z_tr = np.column_stack([standardize(X_tr_filled, X_tr_filled), np.ones(len(X_tr_filled))])
w_linear = np.linalg.lstsq(Z_tr, p_tr, rcond=None)[0]      # best linear weights on training rows

X_rest = np.concatenate([X_va_filled, X_te_filled])
p_rest = np.concatenate([p_va, p_te])
big = np.argsort(X_rest[:, 0])[-40:]                          # the 40 largest houses
X_big, p_big = X_rest[big], p_rest[big]
print(f"mean area of these 40 houses {X_big[:, 0].mean():.0f} m², of the training houses "
      f"{X_tr_filled[:, 0].mean():.0f} m²")
pred_right = np.column_stack([standardize(X_tr_filled, X_big), np.ones(40)]) @ w_linear
pred_own = np.column_stack([standardize(X_big, X_big), np.ones(40)]) @ w_linear

fig, ax = plt.subplots(figsize=(5.5, 4.2))
ax.plot(p_big, pred_right, "o", ms=4, label="training statistics (correct)")
ax.plot(p_big, pred_own, "o", ms=4, label="statistics of these 40 houses (wrong)")
ax.axline((0, 0), slope=1, color="0.5", lw=1, ls="--")
ax.set(xlabel="true price (thousands)", ylabel="predicted price (thousands)",
       title="The 40 largest unseen houses")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
for name, pred in (("training statistics", pred_right), ("own statistics", pred_own)):
    print(f"{name:20s} mean error {np.mean(pred - p_big):+7.1f}   "
          f"RMSE {np.sqrt(np.mean((pred - p_big) ** 2)):6.1f} thousand")

# %% [markdown]
# The rule, for every preparation step: **fit on the training rows, apply to everything**. In
# code this is why `impute_missing` and `standardize` take `X_train` as a separate argument.

# %% [markdown]
# ## 6. Labels: one-hot encoding
#
# For classification the labels are stored as integers: the handwritten digit data set labels
# each image with its digit $0..9$. But these integers are *names*, not quantities: a 7 is not
# "closer" to an 8 than to a 1, and a network should not be told so. The network outputs one
# score per class (turned into one probability per class, as notebook 01 shows), so the natural
# target is a vector with one entry per class: **1 for the true class and 0 for every other**.
# This is the **one-hot** encoding; it is exactly the probability distribution a perfect
# classifier would output.
#
# $$
# \text{one\_hot}(y)_{ik} = \begin{cases} 1 & \text{if } k = y_i \\ 0 & \text{otherwise}
# \end{cases}
# \qquad \text{shape } (N, C).
# $$
#
# (The same encoding turns a categorical *input* feature, say a neighbourhood's name, into
# numbers a network can use.)
#
# ### Worked example
#
# `y = [2, 0, 1, 2]` with `num_classes = 3`:
#
# $$
# \begin{pmatrix} 0 & 0 & 1 \\ 1 & 0 & 0 \\ 0 & 1 & 0 \\ 0 & 0 & 1 \end{pmatrix}
# $$
#
# A label outside $0..C-1$ (like 3, or -1) is an error in the data: better to stop with a
# `ValueError` than to produce a wrong row. Beware: NumPy would happily accept `-1` as an index
# (it means "the last one"), so check the labels yourself.

# %%
X_digits, y_digits = load_digits()
some = np.random.default_rng(7).choice(len(y_digits), size=8, replace=False)
fig, axes = plt.subplots(1, 2, figsize=(10, 2.8), gridspec_kw={"width_ratios": [2, 1]})
for k, i in enumerate(some):
    axes[0].imshow(X_digits[i].reshape(8, 8), cmap="gray_r", extent=(k * 9, k * 9 + 8, 0, 8))
axes[0].set(xlim=(-1, 72), xticks=np.arange(8) * 9 + 4, xticklabels=y_digits[some], yticks=[],
            title="eight digits and their labels y")
axes[1].imshow(nnlib.one_hot(y_digits[some], 10), cmap="Greys", vmin=0, vmax=1)
axes[1].set(xticks=range(10), yticks=range(8), yticklabels=y_digits[some], xlabel="class k",
            ylabel="label y", title="one_hot(y, 10): one row per digit")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Exercise 3: `one_hot` (15 points)
#
# <details><summary>Hint 1: the order of the work</summary>
#
# First check the labels, then build the array. All labels lie in `[0, num_classes)` exactly
# when the smallest is at least 0 and the largest is below `num_classes` (an empty `y` has no
# label to check).
#
# </details>
#
# <details><summary>Hint 2: the array</summary>
#
# Start from `np.zeros((N, num_classes))`: every entry is already right except one per row,
# the entry in column `y[i]` of row `i`.
#
# </details>
#
# <details><summary>Hint 3: one entry per row, without a loop</summary>
#
# *Integer array indexing*: `A[rows, cols] = 1.0`, with two integer arrays of the same length,
# sets `A[rows[k], cols[k]]` for every `k`. Here the rows are `0, 1, ..., N-1`
# (`np.arange(N)`) and the columns are the labels.
#
# </details>

# %% nbgrader={"grade_id": "one_hot", "solution": true}
def one_hot(y, num_classes):
    """One-hot encode integer labels.

    y: (N,) integer labels; num_classes: the number of classes C.
    Returns a float array (N, C) with 1.0 at [i, y[i]] and 0.0 elsewhere. If any label lies
    outside [0, num_classes), raise ValueError (before building anything). About 5 lines.
    """
    ### BEGIN SOLUTION
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes})")
    out = np.zeros((y.shape[0], num_classes))
    out[np.arange(y.shape[0]), y.astype(int)] = 1.0
    return out
    ### END SOLUTION


# %%
print(one_hot(np.array([2, 0, 1, 2]), 3))

# %% nbgrader={"grade_id": "test_one_hot", "grade": true, "points": 15}
check("one_hot", one_hot)
### BEGIN HIDDEN TESTS
check("one_hot", one_hot, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# A first use: the column sums of a one-hot matrix count how many examples each class has.

# %%
print("digits per class:", one_hot(y_digits, 10).sum(axis=0).astype(int))

# %% [markdown]
# ## 7. Splitting the data: train, validation, test
#
# Section 2 used `nnlib`'s split. Now the details.
#
# **Why three parts?** The training set fits the weights. But we also make choices (the size of
# the network, the learning rate, how long to train) and picking the choice with the best score
# on some rows *fits* the choice to those rows. That is what the validation set is for. The test
# set is then the only part nothing was fitted to, so only its score is an honest estimate for
# new data — as long as it is used once, at the end.
#
# **Why shuffle?** Files are often sorted: by date, by class, by whoever collected them. The
# two-moons data set below lists all of class 0 first. Taking its last 20 % as the test set
# gives a test set with only class 1 in it.

# %%
X_moons, y_moons = make_moons(200, noise=0.15, rng=np.random.default_rng(1))
X_moons_tr, y_moons_tr, _, _, X_moons_te, y_moons_te = nnlib.train_val_test_split(
    X_moons, y_moons, 0.0, 0.2, np.random.default_rng(2))
CLASS_COLOURS = np.array(["#3b6fb6", "#d1495b"])            # class 0 blue, class 1 red
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for ax, (tr_x, tr_y, te_x, te_y, title) in zip(axes, [
        (X_moons[:160], y_moons[:160], X_moons[160:], y_moons[160:],
         "first 80 % / last 20 % of the file"),
        (X_moons_tr, y_moons_tr, X_moons_te, y_moons_te, "shuffled split")]):
    ax.scatter(tr_x[:, 0], tr_x[:, 1], c=CLASS_COLOURS[tr_y], s=10, alpha=0.35)
    ax.scatter(te_x[:, 0], te_x[:, 1], c=CLASS_COLOURS[te_y], s=36, edgecolors="k",
               linewidths=1.0)
    ax.set(title=title, xlabel="x1")
legend_marks = [plt.Line2D([], [], ls="", marker="o", ms=8, color=CLASS_COLOURS[0],
                           label="class 0"),
                plt.Line2D([], [], ls="", marker="o", ms=8, color=CLASS_COLOURS[1],
                           label="class 1"),
                plt.Line2D([], [], ls="", marker="o", ms=4, color="0.6", alpha=0.5,
                           label="training row (small, faint)"),
                plt.Line2D([], [], ls="", marker="o", ms=7, color="0.6", mec="k",
                           label="test row (large, black ring)")]
axes[0].legend(handles=legend_marks, loc="lower left", fontsize=8)
axes[0].set_ylabel("x2")
fig.tight_layout()
plt.show()
print("classes in the unshuffled test set:", np.bincount(y_moons[160:], minlength=2),
      "  shuffled:", np.bincount(y_moons_te, minlength=2))

# %% [markdown]
# **How:** draw a random permutation of the row indices with `rng.permutation(N)` and use it for
# `X` *and* `y`, so each row keeps its own label. Then cut: the first `n_test` indices are the
# test set, the next `n_val` the validation set, the rest the training set, with
#
# $$
# n_\text{test} = \operatorname{round}(N \cdot \text{test\_fraction}), \qquad
# n_\text{val} = \operatorname{round}(N \cdot \text{val\_fraction}), \qquad
# n_\text{train} = N - n_\text{test} - n_\text{val}.
# $$
#
# Use Python's `round` (note that it rounds halves to the nearest even number: `round(2.5) == 2`).
#
# ### Worked example
#
# $N = 10$, `val_fraction = 0.2`, `test_fraction = 0.3`: $n_\text{test} = 3$,
# $n_\text{val} = 2$, $n_\text{train} = 5$. If `rng.permutation(10)` returns
# `[4, 6, 2, 7, 3, 5, 9, 0, 8, 1]` (it does for `np.random.default_rng(0)`), the test rows are
# 4, 6, 2, the validation rows 7, 3 and the training rows 5, 9, 0, 8, 1. The cell after the
# exercise prints exactly this.

# %% [markdown]
# ### Exercise 4: `train_val_test_split` (20 points)
#
# <details><summary>Hint 1: the plan</summary>
#
# Work with row *indices*, not with the rows: compute the two counts, draw one permutation of
# `0 .. N-1`, cut it into three pieces, and only at the end pick the rows of `X` and `y` with
# each piece.
#
# </details>
#
# <details><summary>Hint 2: cutting the permutation</summary>
#
# The test indices are the first `n_test` entries of the permutation; the validation indices
# the `n_val` entries right after them; the training indices everything after those. Three
# slices of one array.
#
# </details>
#
# <details><summary>Hint 3: picking the rows</summary>
#
# Indexing an array with an integer array, `X[idx]`, returns a *new* array of those rows in that
# order, so nothing is shuffled in place. Use the same `idx` for `X` and for `y`, and each row
# keeps its label.
#
# </details>

# %% nbgrader={"grade_id": "train_val_test_split", "solution": true}
def train_val_test_split(X, y, val_fraction, test_fraction, rng):
    """Shuffle the rows of X and y together and cut them into training, validation, test.

    X: (N, D) features; y: (N,) or (N, K) targets; rng: a numpy.random.Generator.
    n_test = round(N * test_fraction), n_val = round(N * val_fraction), the rest is training.
    Returns (X_train, y_train, X_val, y_val, X_test, y_test). Use one rng.permutation(N) for
    both X and y: the first n_test indices are the test rows, the next n_val the validation
    rows, the remaining ones the training rows. Do not shuffle X or y in place (about 6 lines).
    """
    ### BEGIN SOLUTION
    X, y = np.asarray(X), np.asarray(y)
    n = X.shape[0]
    n_test = round(n * test_fraction)
    n_val = round(n * val_fraction)
    order = rng.permutation(n)
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return X[train], y[train], X[val], y[val], X[test], y[test]
    ### END SOLUTION


# %%
parts = train_val_test_split(np.arange(10)[:, None], np.arange(10), 0.2, 0.3,
                             np.random.default_rng(0))
for name, part in zip(["X_train", "y_train", "X_val", "y_val", "X_test", "y_test"], parts):
    print(f"{name:8s}", part.ravel())

# %% nbgrader={"grade_id": "test_train_val_test_split", "grade": true, "points": 20}
check("train_val_test_split", train_val_test_split)
### BEGIN HIDDEN TESTS
check("train_val_test_split", train_val_test_split, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Your split of all the digits (15 % validation, 15 % test), with your `one_hot` counting the
# classes in each part: a shuffled split gives every part about the same mix of digits, about
# 10 % each, up to the random variation you would expect in parts of a few hundred images (the
# cell prints how large that is).

# %%
digit_parts = train_val_test_split(X_digits, y_digits, 0.15, 0.15, np.random.default_rng(3))
fig, ax = plt.subplots(figsize=(8, 3))
for j, (name, labels) in enumerate(zip(["train", "validation", "test"], digit_parts[1::2])):
    share = one_hot(labels, 10).mean(axis=0)
    ax.bar(np.arange(10) + (j - 1) * 0.27, share, width=0.27, label=f"{name} ({len(labels)})")
ax.set(xticks=range(10), xlabel="digit", ylabel="share of the part", ylim=(0, 0.17),
       title="Class mix in each part of your split")
ax.legend(fontsize=8, ncol=3, loc="upper center")
fig.tight_layout()
plt.show()
for name, labels in zip(["train", "validation", "test"], digit_parts[1::2]):
    share = one_hot(labels, 10).mean(axis=0)
    chance = np.sqrt(0.1 * 0.9 / len(labels))    # the std of a share of 10 % among n draws
    print(f"{name:>10s}: {len(labels):4d} of {len(y_digits)} digits, shares from {share.min():.1%} "
          f"to {share.max():.1%}; the random variation expected: ±{chance:.1%} (one std)")

# %% [markdown]
# ## 8. Mini-batches and epochs
#
# Gradient descent needs the gradient of the loss, the mean over the training examples. With
# many examples, computing it over *all* of them for every single step is slow. Instead, each step
# uses a small random **mini-batch** of $B$ examples: its mean gradient is a noisy but unbiased
# estimate of the full one, and costs $N/B$ times less. Many cheap, slightly noisy steps beat a
# few expensive exact ones.
#
# - One pass over the whole training set is an **epoch**. It takes
#   $\lceil N / B \rceil$ steps; when $B$ does not divide $N$, the last batch is smaller.
# - Every row is used **exactly once per epoch**, in a fresh random order each epoch, so the
#   batches differ from epoch to epoch (and never follow an ordering hidden in the file).
#
# ### Worked example
#
# $N = 10$ rows, batch size $B = 4$: $\lceil 10/4 \rceil = 3$ steps per epoch, with batches of
# 4, 4 and 2 rows. Without an `rng` the rows come in order: `[0 1 2 3]`, `[4 5 6 7]`, `[8 9]`. If
# `rng.permutation(10)` gives `[4, 6, 2, 7, 3, 5, 9, 0, 8, 1]` (as for
# `np.random.default_rng(0)`), the batches are the rows `[4 6 2 7]`, `[3 5 9 0]`, `[8 1]` —
# each batch holds the features *and* the labels of those rows. The picture shows three epochs,
# each with its own permutation.

# %%
rng_demo = np.random.default_rng(0)
orders = [rng_demo.permutation(10) for _ in range(3)]
fig, ax = plt.subplots(figsize=(8, 2.2))
batch_of_position = np.arange(10) // 4
ax.imshow(np.tile(batch_of_position, (3, 1)), cmap="Pastel1", aspect="auto", vmin=0, vmax=8)
for epoch, order in enumerate(orders):
    for pos, row in enumerate(order):
        ax.text(pos, epoch, str(row), ha="center", va="center", fontsize=10)
ax.set(xticks=[1.5, 5.5, 8.5], xticklabels=["batch 1 (4 rows)", "batch 2 (4 rows)",
                                             "batch 3 (2 rows)"],
       yticks=range(3), yticklabels=[f"epoch {e + 1}" for e in range(3)],
       title="Which rows each step sees: N = 10, B = 4, a new order every epoch")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Python generators
#
# `iterate_minibatches` is a **generator**: a function that uses `yield` instead of `return`.
# Each `yield` hands one value to the `for` loop that consumes it and pauses the function until
# the loop asks for the next one. That way no list of all batches is ever built.

# %%
def count_up_to(n):
    for k in range(n):
        yield k * k


for value in count_up_to(4):
    print(value, end=" ")                # 0 1 4 9

# %% [markdown]
# ### Exercise 5: `iterate_minibatches` (25 points)
#
# <details><summary>Hint 1: the order of the rows</summary>
#
# First decide the order of the whole epoch as an array of row indices: `0, 1, ..., N-1` when
# `rng` is None, `rng.permutation(N)` otherwise (one call, before the loop). Every batch is then
# a consecutive piece of that array.
#
# </details>
#
# <details><summary>Hint 2: the loop</summary>
#
# `range(0, N, batch_size)` gives the first position of every batch. A slice that runs past the
# end of an array stops at the end, so the last, smaller batch needs no special case.
#
# </details>
#
# <details><summary>Hint 3: handing out a batch</summary>
#
# Inside the loop, `yield` a pair: the rows of `X` and the rows of `y` at this batch's indices
# (indexing with an integer array, as in Exercise 4).
#
# </details>

# %% nbgrader={"grade_id": "iterate_minibatches", "solution": true}
def iterate_minibatches(X, y, batch_size, rng=None):
    """Yield the mini-batches (X_batch, y_batch) of one epoch.

    X: (N, D) features; y: (N,) or (N, K) targets; batch_size: B.
    Every row appears in exactly one batch. With rng=None the rows come in their original
    order; otherwise in the order of rng.permutation(N) (one call per epoch). Each batch has
    B rows except the last, which has the N - B * (number of full batches) rows that are left.
    About 5 lines.
    """
    ### BEGIN SOLUTION
    n = np.shape(X)[0]
    order = np.arange(n) if rng is None else rng.permutation(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
    ### END SOLUTION


# %%
for X_batch, y_batch in iterate_minibatches(np.arange(10)[:, None], np.arange(10), 4,
                                            np.random.default_rng(0)):
    print("X rows", X_batch.ravel(), "  y", y_batch)

# %% nbgrader={"grade_id": "test_iterate_minibatches", "grade": true, "points": 25}
check("iterate_minibatches", iterate_minibatches)
### BEGIN HIDDEN TESTS
check("iterate_minibatches", iterate_minibatches, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Explore: the batch size
#
# A small network learns the house prices with plain gradient descent (the same learning rate
# for every batch size), its mini-batches coming from **your** `iterate_minibatches`. Each dot is
# the loss of one mini-batch, plotted at the fraction of the epoch where it happened; the line is
# the mean over each epoch, drawn in the middle of its epoch.
#
# - Batch size 1: one step per training row, a very noisy loss, but fast progress per epoch.
# - The whole training set as one batch: one smooth, exact step per epoch, and slow progress.
# - In between, e.g. 16: most of the speed, much less noise. That is why mini-batches are
#   the standard.

# %%
F_tr = standardize(X_tr_filled, X_tr_filled)                  # your functions from above
price_mu, price_sigma = p_tr.mean(), p_tr.std()
t_tr = ((p_tr - price_mu) / price_sigma)[:, None]             # the target, standardized too
BATCH_SIZES = [1, 4, 16, 64, len(F_tr)]
EPOCHS = 8
batch_runs = {}
for b in BATCH_SIZES:
    run_rng = np.random.default_rng(4)
    model = nnlib.MLP.create([5, 16, 1], run_rng, ops=nnlib.Ops(**MSE))
    history = nnlib.train(model, F_tr, t_tr, rng=run_rng, epochs=EPOCHS, batch_size=b,
                          update_rule=nnlib.sgd, optim_config={"learning_rate": 0.02},
                          minibatches=iterate_minibatches)
    steps = int(np.ceil(len(F_tr) / b))
    batch_runs[b] = {"steps": steps, "batch_loss": np.array(history.batch_loss),
                     "epoch_loss": np.array(history.train_loss),
                     "x": np.arange(len(history.batch_loss)) / steps + 1 / steps}


BATCH_FIGSIZE = (8, 3.4)


def draw_batches_background(fig):
    ax = fig.add_axes((0.09, 0.14, 0.88, 0.76))
    ax.set(ylim=(0, 2.5), yticks=[0, 1, 2], xlim=(0, EPOCHS + 0.2), xlabel="epoch",
           ylabel="MSE (standardized price)", xticks=range(0, EPOCHS + 1, 2))


batches_background = plots.render_static_layer(draw_batches_background, BATCH_FIGSIZE)


def draw_batches(fig, batch_size):
    r = batch_runs[batch_size]
    (ax,) = plots.add_static_layer(fig, batches_background)
    ax.plot(r["x"], r["batch_loss"], ".", ms=2 if r["steps"] > 50 else 5, alpha=0.5, color="C0",
            label="loss of one mini-batch (one step)")
    ax.plot(np.arange(1, EPOCHS + 1) - 0.5, r["epoch_loss"], "o-", color="C3", lw=2,
            label="mean over the epoch")
    ax.legend(fontsize=8, loc="upper right")
    last = len(F_tr) - (r["steps"] - 1) * batch_size
    return (f"N = {len(F_tr)} training rows, batch size {batch_size}: {r['steps']} steps per epoch "
            f"(last batch {last} rows), {r['steps'] * EPOCHS} steps in {EPOCHS} epochs; "
            f"mean loss in epoch {EPOCHS}: {r['epoch_loss'][-1]:.3f}")


batch_panel = slider_panel(
    draw_batches,
    {"batch_size": widgets.SelectionSlider(options=BATCH_SIZES, value=16,
                                           description="batch size")},
    figsize=BATCH_FIGSIZE, title="Mini-batch size: steps per epoch and noise")
batch_panel

# %% [markdown]
# ## 9. Everything together
#
# The whole recipe with your five functions, on the house prices:
#
# 1. split the rows (`train_val_test_split`);
# 2. fill the holes with the training means (`impute_missing`);
# 3. standardize the features — and, for regression, the target too — with the training
#    statistics (`standardize`);
# 4. train a network on shuffled mini-batches (`iterate_minibatches`, plugged into
#    `nnlib.train`), watching the validation loss;
# 5. report the error on the test set, once, back in thousands.
#
# For comparison, the same network trained on features that were only imputed, not
# standardized.

# %%
rng = np.random.default_rng(5)
X_a, p_a, X_b, p_b, X_c, p_c = train_val_test_split(X_house, price, 0.2, 0.2, rng)
X_a, X_b, X_c = (impute_missing(X_a, part) for part in (X_a, X_b, X_c))
F_a, F_b, F_c = (standardize(X_a, part) for part in (X_a, X_b, X_c))
t_a, t_b = (standardize(p_a[:, None], p[:, None]) for p in (p_a, p_b))


def fit_and_predict(train_features, val_features, test_features, seed=6):
    """Train a 5-32-1 network on the standardized price; test predictions in thousands."""
    fit_rng = np.random.default_rng(seed)
    model = nnlib.MLP.create([5, 32, 1], fit_rng, ops=nnlib.Ops(**MSE))
    history = nnlib.train(model, train_features, t_a, val_features, t_b, rng=fit_rng,
                          epochs=40, batch_size=32, optim_config={"learning_rate": 1e-2},
                          minibatches=iterate_minibatches)
    return history, model.predict_scores(test_features)[:, 0] * p_a.std() + p_a.mean()


history_prepared, pred_prepared = fit_and_predict(F_a, F_b, F_c)
history_raw, pred_raw = fit_and_predict(X_a, X_b, X_c)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
for history, name, color in ((history_prepared, "standardized features", "C0"),
                             (history_raw, "raw features", "C1")):
    after_epoch = np.arange(1, history.epochs + 1)           # measured after epochs 1, 2, ...
    ax1.semilogy(after_epoch, history.val_loss, color, label=name)
ax1.set(xlabel="epoch", ylabel="validation MSE (standardized price)", xlim=(0, None),
        title="Validation loss after each epoch")
ax1.legend(fontsize=8)
for pred, name, color in ((pred_raw, "raw features", "C1"),
                          (pred_prepared, "standardized features", "C0")):
    rmse = np.sqrt(np.mean((pred - p_c) ** 2))
    ax2.plot(p_c, pred, "o", ms=3, color=color, label=f"{name}: test RMSE {rmse:.0f} thousand")
ax2.axline((0, 0), slope=1, color="0.5", lw=1, ls="--")
ax2.set(xlabel="true price (thousands)", ylabel="predicted price (thousands)",
        title="The test houses, predicted once")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"for scale: always predicting the training mean gives a test RMSE of "
      f"{np.sqrt(np.mean((p_a.mean() - p_c) ** 2)):.0f} thousand")

# %% [markdown]
# Same network, same optimizer, same number of epochs: prepared inputs give predictions close to
# the diagonal, while raw inputs give an error larger than simply always guessing the mean
# price. Nothing crashed and no warning appeared; only the numbers tell.

# %% [markdown]
# ## Summary
#
# - **Split first.** Training rows fit the model *and* every preparation step; validation rows
#   compare choices; test rows are used once, at the end. Shuffle before splitting: files are
#   often sorted.
# - **Missing values**: impute each hole with the (NaN-ignoring) mean of its column in the
#   training rows.
# - **Scaling**: gradients are proportional to the features, so features on different scales
#   make a long narrow valley that gradient descent crosses in zig-zags. Standardize,
#   $(x - \mu) / \sigma$, with $\mu, \sigma$ of the training rows (and $\sigma = 0 \to 1$).
# - **No leakage**: statistics from all rows let the test set influence training; statistics from
#   each split (or each new example) give wrong inputs. Fit on training rows, store, apply
#   everywhere.
# - **One-hot** labels: a vector with a 1 at the true class — what a perfect classifier outputs.
# - **Mini-batches**: each step uses $B$ rows; an epoch is $\lceil N/B \rceil$ steps that use
#   every row once, in a new random order each epoch. Smaller batches: more, noisier steps.
#
# Next, in notebook 01: the loss functions that measure how wrong a prediction is.
