# %% [markdown]
# # 03 Backpropagation
#
# In notebook 02 you built `Value`, an engine that differentiates any computation made of
# single numbers. It is exact, but slow: every multiplication is a Python object. A network
# that classifies 8x8 images with 64 hidden units does $64 \cdot 64 + 64 \cdot 10 = 4{,}736$
# multiplications *per image*,
# and we want to push batches of hundreds of images through it thousands of times.
#
# The way out is to apply the same chain rule to **whole arrays at once**. A layer (a matrix
# multiplication, an activation function, a loss) becomes one node of the graph, with a
# *forward* function that computes its output and a *backward* function that turns the
# gradient of the loss with respect to its output into the gradients with respect to its
# inputs. Backpropagation is nothing more than calling the backward functions in reverse order.
#
# By the end of this notebook you will be able to
#
# - write layers with the **`(out, cache)` / `(dout, cache)` contract** and chain them;
# - derive the backward pass of an **affine layer** $xW + b$ from the shapes of the arrays;
# - write **ReLU** and **sigmoid** layers and explain what their derivatives do to a gradient;
# - **check** any backward function against numeric gradients;
# - compute the gradients of the **MSE** and **softmax cross-entropy** losses;
# - initialise weights with **Glorot** initialisation, see why deep sigmoid networks and
#   badly initialised networks suffer from **vanishing gradients**, and why ReLU networks
#   need **He** initialisation;
# - write a complete two-layer network by hand, and train a digit classifier with *your*
#   backpropagation.
#
# | exercise | points | exercise | points |
# |---|---|---|---|
# | `affine_forward` | 5 | `sigmoid_backward` | 5 |
# | `affine_backward` | 15 | `mse_loss_backward` | 10 |
# | `relu_forward` | 5 | `softmax_cross_entropy_backward` | 15 |
# | `relu_backward` | 10 | `glorot_uniform` | 5 |
# | `sigmoid_forward` | 10 | `two_layer_net` | 20 |
#
# Run the cells from top to bottom. Before each exercise the examples use `nnlib`'s reference
# implementation; after it, the notebook uses *yours*.

# %% nbgrader={"grade_id": "setup", "locked": true}
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

import nnlib
from autograder import check
from nnlib.datasets import load_digits
from nnlib.plots import (
    add_static_layer,
    plot_digit_images,
    plot_layer_pipeline,
    plot_matrix_shape_equations,
    render_static_layer,
)
from nnlib.widgets import slider_panel

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Layers: the `(out, cache)` / `(dout, cache)` contract
#
# We write every layer as a **pair of functions** (the convention of Stanford's CS231n course):
#
# ```python
# out, cache = layer_forward(x, ...)      # cache: whatever the backward pass will need
# dx, ...    = layer_backward(dout, cache)
# ```
#
# Throughout, $L$ is the loss, one number, and a `d` in front of a name means "the gradient of
# the loss with respect to it": `dout` is $\partial L / \partial\,\text{out}$ and `dx` is
# $\partial L / \partial x$. Because $L$ is a single number, **every gradient has exactly the
# shape of the array it belongs to**: `dx.shape == x.shape`, `dW.shape == W.shape`. That
# simple fact will guide every derivation below.
#
# The backward function is the chain rule of notebook 02 for one node: it receives the grad
# of its output (`dout`) and returns the grads of its inputs. The **cache** is what the node
# remembers from the forward pass to do that: for a multiplication, its inputs (remember that
# the local derivatives of $a \cdot b$ are $b$ and $a$).
#
# A whole network is then a chain: the forward pass calls the forward functions left to right
# and keeps every cache; the backward pass starts with $\partial L / \partial L = 1$ and calls
# the backward functions right to left, each handing its `dx` to the layer before as that
# layer's `dout`:

# %%
fig, ax = plt.subplots(figsize=(11, 2.6))
plot_layer_pipeline(["affine", "ReLU", "affine", "softmax\ncross-entropy"],
                    ["X", "h", "a", "scores", "loss L"],
                    ["dX", "dh", "da", "dscores", "1"], ax=ax)
plt.show()

# %% [markdown]
# ## 2. The affine layer, forward
#
# The basic layer of a fully connected network multiplies its input by a weight matrix and
# adds a bias. With a batch of $N$ samples in the rows of $x$:
#
# $$
# \text{out} = x W + b, \qquad x: (N, D),\quad W: (D, M),\quad b: (M,),\quad \text{out}: (N, M).
# $$
#
# Each of the $M$ outputs of sample $n$ is a weighted sum of its $D$ inputs plus a bias:
# $\text{out}_{nm} = \sum_{d} x_{nd} W_{dm} + b_m$. NumPy's broadcasting adds the bias row `b`
# to every row of `x @ W`. (It is called *affine* rather than *linear* because of the $+b$.)
#
# ### Worked example
#
# $N = 3$ samples with $D = 2$ features, $M = 3$ outputs:
#
# $$
# x = \begin{pmatrix} 1 & 2 \\ 3 & 4 \\ 0 & -1 \end{pmatrix},\quad
# W = \begin{pmatrix} 1 & 0 & -1 \\ 2 & 1 & 0 \end{pmatrix},\quad
# b = (0.5, -0.5, 0).
# $$
#
# Row 0: $(1 \cdot 1 + 2 \cdot 2,\; 1 \cdot 0 + 2 \cdot 1,\; 1 \cdot (-1) + 2 \cdot 0) + b =
# (5, 2, -1) + (0.5, -0.5, 0) = (5.5, 1.5, -1)$. All three rows:

# %%
x_ex = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, -1.0]])
W_ex = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
b_ex = np.array([0.5, -0.5, 0.0])
out_ex, cache_ex = nnlib.affine_forward(x_ex, W_ex, b_ex)
print(out_ex)

# %% [markdown]
# ### Exercise 1: `affine_forward` (5 points)
#
# <details><summary>Hint</summary>
#
# The formula $xW + b$ is one line of NumPy: `@` multiplies matrices, and adding a `(M,)` array
# to an `(N, M)` array adds it to every row (broadcasting). Return the output and the tuple of
# the three inputs.
#
# </details>

# %% nbgrader={"grade_id": "affine_forward", "solution": true}
def affine_forward(x, W, b):
    """Forward pass of an affine (fully connected) layer: out = x @ W + b.

    x: (N, D) inputs, one sample a row; W: (D, M) weights; b: (M,) biases.
    Returns (out, cache): out (N, M), and cache = (x, W, b) for the backward pass (2 lines).
    """
    ### BEGIN SOLUTION
    out = x @ W + b
    return out, (x, W, b)
    ### END SOLUTION


# %%
print(affine_forward(x_ex, W_ex, b_ex)[0])       # the same as above

# %% nbgrader={"grade_id": "test_affine_forward", "grade": true, "points": 5}
check("affine_forward", affine_forward)
### BEGIN HIDDEN TESTS
check("affine_forward", affine_forward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The affine layer, backward: matrix calculus by shapes
#
# Given `dout` $= \partial L / \partial\,\text{out}$, of shape $(N, M)$, we need `dx`, `dW` and
# `db`. Two tools get us there.
#
# **The chain rule, one entry at a time.** Start from one element of the output,
#
# $$
# \text{out}_{nm} = \sum_d x_{nd} W_{dm} + b_m ,
# $$
#
# and ask, for one entry of `W` (or of `x`, or of `b`): which entries of `out` does it appear
# in, and with what local derivative? Each of those entries is a path from that entry to the
# loss, and by the "sum over paths" rule of notebook 02 its gradient is the sum, over the
# paths, of local derivative times the `dout` of that entry of `out`.
#
# **The shapes.** Every gradient has the shape of its array: `dW` is $(D, M)$ like `W`, `dx`
# is $(N, D)$ like `x`, `db` is $(M,)$ like `b`. A sum over an index shared by two arrays is a
# matrix product, and among the products of the arrays at hand (`x` or `W`, with `dout`,
# transposed or not) only one has the right shape for each gradient. So once you know which
# arrays a gradient is built from, the shapes leave only one way to combine them. The picture
# shows the forward pass and the puzzle for the backward pass: the shape each gradient must
# have and the arrays it is made of. You solve it in the exercise (the hints before it help).

# %%
N, D, M = 5, 3, 4
fig, ax = plt.subplots(figsize=(7.5, 5.2))
plot_matrix_shape_equations([
    [("out", "(N, M)", N, M), "=", ("x", "(N, D)", N, D), "@", ("W", "(D, M)", D, M), "+",
     ("b", "(M,)", 1, M)],
    [("dx", "(N, D)", N, D), "=", "made of", ("dout", "(N, M)", N, M), "and",
     ("W", "(D, M)", D, M)],
    [("dW", "(D, M)", D, M), "=", "made of", ("x", "(N, D)", N, D), "and",
     ("dout", "(N, M)", N, M)],
    [("db", "(M,)", 1, M), "=", "made of", ("dout", "(N, M)", N, M)],
], ax=ax)
ax.set_title("The affine layer: forward (top), and what each gradient is made of")
plt.show()

# %% [markdown]
# ### Worked example
#
# Take the worked example of section 2 and pretend the loss is just the first output of the
# first sample, $L = \text{out}_{00}$. Then `dout` is 1 at $[0, 0]$ and 0 elsewhere, and:
#
# - `dW`: only its column 0 is non-zero, and it holds sample 0's input $(1, 2)$. Indeed
#   $\text{out}_{00} = 1 \cdot W_{00} + 2 \cdot W_{10} + b_0$: raising $W_{00}$ by a little
#   raises $L$ by 1 times that, raising $W_{10}$ by 2 times that, and no other weight appears.
# - `dx`: only row 0 is non-zero, and it holds column 0 of $W$, $(1, 2)$: in the same sum,
#   $x_{00} = 1$ is multiplied by $W_{00} = 1$ and $x_{01} = 2$ by $W_{10} = 2$.
# - `db` $= (1, 0, 0)$.
#
# With a general `dout`, every sample and every output adds its share; the exercise is to
# find out how these shares add up. The cell prints what `nnlib`'s version returns.

# %%
dout_ex = np.zeros((3, 3))
dout_ex[0, 0] = 1.0
dx_ex, dW_ex, db_ex = nnlib.affine_backward(dout_ex, cache_ex)
print("dx =\n", dx_ex, "\ndW =\n", dW_ex, "\ndb =", db_ex)

# %% [markdown]
# ## 4. Gradient checking
#
# A backward function can be wrong in many quiet ways (a missing transpose that happens to
# fit a square matrix, a mean instead of a sum), and training will often *still run*, just
# worse. So we always compare it with the **numeric gradient** of notebook 02. The trick for
# a layer: for a fixed random `dout`, the scalar
#
# $$
# \ell(x) = \sum_{n,m} \text{out}(x)_{nm}\, \text{dout}_{nm}
# $$
#
# has $\partial \ell / \partial\,\text{out} = \text{dout}$ exactly, so its gradient with
# respect to $x$ is what `layer_backward(dout, cache)` must return. We compute it with
# `nnlib.numeric_gradient` (yours from notebook 02 works just as well) and compare with the
# **relative error** `nnlib.rel_error(a, b)` $= \max_i \frac{|a_i - b_i|}{|a_i| + |b_i|}$:
#
# | relative error | verdict |
# |---|---|
# | below $10^{-7}$ | correct |
# | $10^{-7}$ to $10^{-4}$ | suspicious, unless the function has kinks (like ReLU at 0) |
# | above $10^{-2}$ | wrong |
#
# Below, the reference `affine_backward` against a buggy version that averages the bias
# gradient over the batch instead of summing it. Its `dx` and `dW` are fine; `db` is off by
# a factor $N$ and the check catches it at once.

# %%
rng = np.random.default_rng(0)
x_chk, W_chk, b_chk = rng.normal(size=(4, 5)), rng.normal(size=(5, 3)), rng.normal(size=3)
dout_chk = rng.normal(size=(4, 3))


def affine_scalar(x, W, b):
    """The scalar sum(out * dout), whose gradient the backward pass must return."""
    return np.sum(nnlib.affine_forward(x, W, b)[0] * dout_chk)


numeric = {"dx": nnlib.numeric_gradient(lambda v: affine_scalar(v, W_chk, b_chk), x_chk),
           "dW": nnlib.numeric_gradient(lambda v: affine_scalar(x_chk, v, b_chk), W_chk),
           "db": nnlib.numeric_gradient(lambda v: affine_scalar(x_chk, W_chk, v), b_chk)}
cache_chk = (x_chk, W_chk, b_chk)
correct = nnlib.affine_backward(dout_chk, cache_chk)
buggy = (correct[0], correct[1], correct[2] / len(x_chk))   # db averaged, not summed: a bug
for name, good, bad in zip(("dx", "dW", "db"), correct, buggy):
    print(f"{name}: reference {nnlib.rel_error(good, numeric[name]):.1e}   "
          f"buggy {nnlib.rel_error(bad, numeric[name]):.1e}")

# %% [markdown]
# ### Exercise 2: `affine_backward` (15 points)
#
# <details><summary>Hint 1: start with db</summary>
#
# $b_m$ is added to $\text{out}_{nm}$ for every sample $n$, always with local derivative 1.
# So every sample is one path from $b_m$ to the loss. What do you get when you add up
# $1 \cdot \text{dout}_{nm}$ over those paths?
#
# </details>
#
# <details><summary>Hint 2: the paths of one weight and of one input</summary>
#
# $W_{dm}$ appears in $\text{out}_{nm}$ for **every** sample $n$ (the same weight serves the
# whole batch), with local derivative $x_{nd}$. $x_{nd}$ appears in $\text{out}_{nm}$ for
# **every** output $m$, with local derivative $W_{dm}$. Write each gradient as a sum over
# those paths, then look at the index that is summed over.
#
# </details>
#
# <details><summary>Hint 3: the sums, entry by entry</summary>
#
# $$
# \frac{\partial L}{\partial W_{dm}} = \sum_{n} x_{nd}\,\text{dout}_{nm}, \qquad
# \frac{\partial L}{\partial x_{nd}} = \sum_m \text{dout}_{nm} W_{dm}, \qquad
# \frac{\partial L}{\partial b_m} = \sum_n \text{dout}_{nm} .
# $$
#
# A sum over a shared index is a matrix product, possibly with a transpose so that the shared
# index sits on the inside: $(A B)_{ij} = \sum_k A_{ik} B_{kj}$.
#
# </details>
#
# <details><summary>Hint 4: as matrices, checked by their shapes</summary>
#
# $$
# dW = x^\top\,\text{dout} \;\; (D, N)(N, M) = (D, M), \qquad
# dx = \text{dout}\,W^\top \;\; (N, M)(M, D) = (N, D), \qquad
# db = \textstyle\sum_n \text{dout}_{n,:} \;\; (M,).
# $$
#
# In NumPy, `.T` transposes, `@` multiplies matrices and `.sum(axis=0)` adds up the rows.
#
# </details>

# %% nbgrader={"grade_id": "affine_backward", "solution": true}
def affine_backward(dout, cache):
    """Backward pass of the affine layer.

    dout: (N, M) gradient of the loss with respect to out; cache: (x, W, b) from
    affine_forward, x (N, D), W (D, M), b (M,).
    Returns (dx, dW, db): the gradients of the loss with respect to x, W and b, shaped like
    x (N, D), W (D, M) and b (M,). About 4 lines.
    """
    ### BEGIN SOLUTION
    x, W, _ = cache
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db
    ### END SOLUTION


# %% [markdown]
# Check your gradients numerically, as above (all three relative errors should be below
# $10^{-7}$, the "correct" row of the table):

# %%
mine = affine_backward(dout_chk, cache_chk)
for name, grad in zip(("dx", "dW", "db"), mine):
    print(f"{name}: shape {grad.shape}, relative error {nnlib.rel_error(grad, numeric[name]):.1e}")

# %% nbgrader={"grade_id": "test_affine_backward", "grade": true, "points": 15}
check("affine_backward", affine_backward)
### BEGIN HIDDEN TESTS
check("affine_backward", affine_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Looking back, as a picture: for each gradient the shapes fit together one way only, and the
# matrix products sum over the batch (`dW`) or over the outputs (`dx`) exactly as the sums over
# paths say.

# %%
fig, ax = plt.subplots(figsize=(6.5, 5.2))
plot_matrix_shape_equations([
    [("out", "(N, M)", N, M), "=", ("x", "(N, D)", N, D), "@", ("W", "(D, M)", D, M), "+",
     ("b", "(M,)", 1, M)],
    [("dx", "(N, D)", N, D), "=", ("dout", "(N, M)", N, M), "@", ("W.T", "(M, D)", M, D)],
    [("dW", "(D, M)", D, M), "=", ("x.T", "(D, N)", D, N), "@", ("dout", "(N, M)", N, M)],
    [("db", "(M,)", 1, M), "=", "sum of the rows of", ("dout", "(N, M)", N, M)],
], ax=ax)
ax.set_title("Forward (top) and backward of the affine layer: the shapes fit one way only")
plt.show()

# %% [markdown]
# ## 5. ReLU
#
# Stacking affine layers alone gives nothing new: $(xW_1)W_2 = x(W_1W_2)$ is again one affine
# layer. A **nonlinear activation** between them lets the network bend its decision
# boundaries. The most common one is the *rectified linear unit*
#
# $$
# \operatorname{relu}(x) = \max(x, 0), \qquad
# \operatorname{relu}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}
# $$
#
# applied to every element. At exactly $x = 0$ the derivative is undefined (a kink); we use 0,
# as most libraries do. In the backward pass ReLU acts as a **gate**: where the input was
# positive the gradient passes unchanged, everywhere else it is blocked. The cache is the input
# `x`, which tells where the gate was open.

# %%
t = np.linspace(-4, 4, 401)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 2.8))
ax1.plot(t, np.maximum(t, 0), "C0", lw=2)
ax1.set(title="relu(x) = max(x, 0)", xlabel="x")
ax2.plot(t[t < 0], np.zeros(np.sum(t < 0)), "C3", lw=2)
ax2.plot(t[t > 0], np.ones(np.sum(t > 0)), "C3", lw=2)
ax2.plot([0], [0], "C3o", ms=5)
ax2.set(title="relu'(x): a gate, 0 or 1", xlabel="x", ylim=(-0.2, 1.2))
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Worked example
#
# $x = (-2, 0, 3, -0.5)$ gives $\text{out} = (0, 0, 3, 0)$. With an upstream gradient
# $\text{dout} = (10, 20, 30, 40)$ only the third entry passes: $dx = (0, 0, 30, 0)$. Note
# the 0 at $x = 0$.

# %%
x_relu = np.array([[-2.0, 0.0, 3.0, -0.5]])
out_relu, cache_relu = nnlib.relu_forward(x_relu)
print("out =", out_relu, "  dx =", nnlib.relu_backward(np.array([[10.0, 20, 30, 40]]), cache_relu))

# %% [markdown]
# ### Exercises 3 and 4: `relu_forward` (5 points), `relu_backward` (10 points)
#
# Both work on arrays of any shape. Do not change `x` in place (e.g. `x[x < 0] = 0` would
# destroy the cache and the caller's array): build new arrays.
#
# <details><summary>Hint 1: relu_forward</summary>
#
# `np.maximum(a, b)` takes the larger of the two element by element, and broadcasts a plain
# number against an array. Return the output together with the cache.
#
# </details>
#
# <details><summary>Hint 2: relu_backward, the chain rule</summary>
#
# Each output element depends on one input element only, so the chain rule is element-wise:
# $dx = \text{dout} \odot \operatorname{relu}'(x)$, with $\odot$ the element-wise product and
# $\operatorname{relu}'$ from the formula above.
#
# </details>
#
# <details><summary>Hint 3: relu_backward in NumPy</summary>
#
# A comparison such as `x > 0` gives a boolean array; in arithmetic `True` counts as 1 and
# `False` as 0. That is $\operatorname{relu}'(x)$, 0 at exactly 0 included.
#
# </details>

# %% nbgrader={"grade_id": "relu_forward", "solution": true}
def relu_forward(x):
    """ReLU, element-wise: out = max(x, 0).

    x: array of any shape. Returns (out, cache): out shaped like x, cache = x.
    Do not modify x (1-2 lines).
    """
    ### BEGIN SOLUTION
    return np.maximum(x, 0), x
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_relu_forward", "grade": true, "points": 5}
check("relu_forward", relu_forward)
### BEGIN HIDDEN TESTS
check("relu_forward", relu_forward, hidden=True)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "relu_backward", "solution": true}
def relu_backward(dout, cache):
    """Backward pass of ReLU.

    dout: upstream gradient, any shape; cache: the input x of relu_forward (same shape).
    Returns dx, shaped like dout: the gradient of the loss with respect to x, with the
    derivative of ReLU at exactly 0 taken as 0 (1 line).
    """
    ### BEGIN SOLUTION
    return dout * (cache > 0)
    ### END SOLUTION


# %%
x_chk_relu = rng.normal(size=(4, 5))                  # random, so no entry is exactly 0
dout_relu = rng.normal(size=(4, 5))
numeric_relu = nnlib.numeric_gradient(
    lambda v: np.sum(relu_forward(v)[0] * dout_relu), x_chk_relu)
dx_relu = relu_backward(dout_relu, relu_forward(x_chk_relu)[1])
print("relu_backward, relative error:", nnlib.rel_error(dx_relu, numeric_relu))

# %% nbgrader={"grade_id": "test_relu_backward", "grade": true, "points": 10}
check("relu_backward", relu_backward)
### BEGIN HIDDEN TESTS
check("relu_backward", relu_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Sigmoid
#
# The **logistic sigmoid** squashes any number into $(0, 1)$; it was the activation of choice
# for decades, and it is still used where a probability is needed:
#
# $$
# \sigma(x) = \frac{1}{1 + e^{-x}}, \qquad
# \sigma'(x) = \frac{e^{-x}}{(1 + e^{-x})^2} = \sigma(x)\,\bigl(1 - \sigma(x)\bigr).
# $$
#
# (For the last step write $\frac{e^{-x}}{1 + e^{-x}} = 1 - \sigma(x)$.) So the backward pass
# only needs the forward **output** $s = \sigma(x)$: the cache is `out`. Two things to notice
# in the picture:
#
# - $\sigma'(x)$ is **at most 0.25** (at $x = 0$). Every sigmoid layer in the backward pass
#   multiplies the gradient by at most a quarter. Keep that in mind for section 9.
# - For large $|x|$ the sigmoid **saturates**: it is flat, $\sigma' \approx 0$, and almost no
#   gradient passes.

# %%
s_t = nnlib.sigmoid(t)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 2.8))
ax1.plot(t, s_t, "C0", lw=2)
ax1.set(title="sigmoid(x)", xlabel="x")
ax2.plot(t, s_t * (1 - s_t), "C3", lw=2)
ax2.axhline(0.25, color="0.6", ls="--", lw=1)
ax2.set(title="sigmoid'(x) = s (1 - s): at most 0.25", xlabel="x", ylim=(0, 0.3))
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Without overflow
#
# The formula as written breaks for large negative $x$: `np.exp(1000)` overflows to `inf`
# (with a `RuntimeWarning`). The answer $1 / (1 + \infty) = 0$ happens to come out right, but
# warnings and infinities in a network are a sign of trouble, and the checker rejects them.
# The fix: never exponentiate a positive number. $z = e^{-|x|}$ is at most 1 for every $x$,
# and $\sigma(x)$ can be written with $z$ alone, with one formula for $x \ge 0$ and another
# for $x < 0$ (the hints before the exercise show how, if you want them).
#
# ### Worked example
#
# $\sigma(0) = 0.5$ with slope $0.25$; $\sigma(2) = 0.8808$ with slope
# $0.8808 \cdot 0.1192 = 0.105$; $\sigma(-2) = 0.1192$ with the same slope;
# $\sigma(-1000) = 0$ and $\sigma(1000) = 1$, without warnings:

# %%
x_sig = np.array([0.0, 2.0, -2.0, -1000.0, 1000.0])
s_sig, _ = nnlib.sigmoid_forward(x_sig)
print("sigmoid:", s_sig)
print("slopes: ", nnlib.sigmoid_backward(np.ones(5), s_sig))

# %% [markdown]
# ### Exercises 5 and 6: `sigmoid_forward` (10 points), `sigmoid_backward` (5 points)
#
# <details><summary>Hint 1: sigmoid_forward, the two cases</summary>
#
# For $x \ge 0$, $e^{-x} = e^{-|x|} = z$ already, so $\sigma(x) = \frac{1}{1 + z}$. For
# $x < 0$, multiply numerator and denominator of $\frac{1}{1 + e^{-x}}$ by $e^{x}$, which is
# $z$ there: $\sigma(x) = \frac{z}{1 + z}$.
#
# </details>
#
# <details><summary>Hint 2: sigmoid_forward in NumPy</summary>
#
# `np.abs`, then `np.exp` of minus it gives `z` for every element. `np.where(condition, a, b)`
# takes `a` where the condition holds and `b` elsewhere: both cases at once, with no loop.
# Both `a` and `b` are computed for every element, which is safe here because `z` never
# overflows.
#
# </details>
#
# <details><summary>Hint 3: sigmoid_backward</summary>
#
# The chain rule element by element, as for ReLU: $dx = \text{dout} \odot \sigma'(x)$, and
# $\sigma'(x) = s\,(1 - s)$ with $s$ the cache. Do not apply the sigmoid to the cache again:
# it already is $s$.
#
# </details>

# %% nbgrader={"grade_id": "sigmoid_forward", "solution": true}
def sigmoid_forward(x):
    """Logistic sigmoid, element-wise: out = 1 / (1 + exp(-x)), with no overflow.

    x: array of any shape (any finite values, e.g. -1000 or 1e300).
    Returns (out, cache): out shaped like x, cache = out (the backward pass needs it). No
    overflow warning for any finite x (about 3 lines).
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return out, out
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_sigmoid_forward", "grade": true, "points": 10}
check("sigmoid_forward", sigmoid_forward)
### BEGIN HIDDEN TESTS
check("sigmoid_forward", sigmoid_forward, hidden=True)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "sigmoid_backward", "solution": true}
def sigmoid_backward(dout, cache):
    """Backward pass of the sigmoid.

    dout: upstream gradient, any shape; cache: s = the output of sigmoid_forward.
    Returns dx, shaped like dout: the gradient of the loss with respect to the sigmoid's input
    x (1 line).
    """
    ### BEGIN SOLUTION
    return dout * cache * (1.0 - cache)
    ### END SOLUTION


# %%
x_chk_sig, dout_sig = rng.normal(size=(4, 5)) * 3, rng.normal(size=(4, 5))
numeric_sig = nnlib.numeric_gradient(lambda v: np.sum(sigmoid_forward(v)[0] * dout_sig),
                                     x_chk_sig)
dx_sig = sigmoid_backward(dout_sig, sigmoid_forward(x_chk_sig)[1])
print("sigmoid_backward, relative error:", nnlib.rel_error(dx_sig, numeric_sig))

# %% nbgrader={"grade_id": "test_sigmoid_backward", "grade": true, "points": 5}
check("sigmoid_backward", sigmoid_backward)
### BEGIN HIDDEN TESTS
check("sigmoid_backward", sigmoid_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Where the backward pass starts: the gradient of the loss
#
# The backward pass begins at the loss with $\partial L / \partial L = 1$. The first backward
# function is the loss's own: it turns the network's output into `dscores`, the gradient of
# the loss with respect to the output, shaped like the output. Both losses of notebook 01
# have short gradients.
#
# ### Mean squared error
#
# $L = \frac{1}{S} \sum_{i} (\hat y_i - y_i)^2$, where the sum and $S$ run over **every entry**
# ($S = N \cdot K$ for outputs of shape $(N, K)$). We need $\partial L / \partial \hat y_i$ for
# every entry $i$: one partial derivative per entry, so the result has the shape of $\hat y$.
#
# **Worked example.** $\hat y = (2.5, 0, 2, 8)$, $y = (3, -0.5, 2, 7)$, as a column of shape
# $(4, 1)$, so $S = 4$; the differences are $(-0.5, 0.5, 0, 1)$. The cell prints the gradient
# that `nnlib` computes, the numbers your function must give: the largest error gets the
# largest push, and the prediction that is already right gets none.

# %%
y_pred_ex = np.array([[2.5], [0.0], [2.0], [8.0]])
y_true_ex = np.array([[3.0], [-0.5], [2.0], [7.0]])
print(nnlib.mse_loss_backward(y_pred_ex, y_true_ex).ravel())

# %% [markdown]
# ### Exercise 7: `mse_loss_backward` (10 points)
#
# <details><summary>Hint 1: one entry at a time</summary>
#
# Fix one entry $i$. Of all the terms of the sum, only $(\hat y_i - y_i)^2$ contains
# $\hat y_i$; the others are constants for this derivative. And $S$ is a constant too.
#
# </details>
#
# <details><summary>Hint 2: the formula</summary>
#
# $$
# \frac{\partial L}{\partial \hat y_i} = \frac{2\,(\hat y_i - y_i)}{S},
# $$
#
# for every entry at once with NumPy's element-wise arithmetic; `.size` is the number of
# entries of an array.
#
# </details>

# %% nbgrader={"grade_id": "mse_loss_backward", "solution": true}
def mse_loss_backward(y_pred, y_true):
    """Gradient of mse_loss = mean((y_pred - y_true)**2) with respect to y_pred.

    y_pred, y_true: arrays of the same shape, e.g. (N,), (N, 1) or (N, K).
    Returns d mse_loss / d y_pred, shaped like y_pred (1-2 lines).
    """
    ### BEGIN SOLUTION
    y_pred = np.asarray(y_pred, dtype=float)
    return 2.0 * (y_pred - np.asarray(y_true, dtype=float)) / y_pred.size
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_mse_loss_backward", "grade": true, "points": 10}
check("mse_loss_backward", mse_loss_backward)
### BEGIN HIDDEN TESTS
check("mse_loss_backward", mse_loss_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Softmax cross-entropy
#
# For classification the network outputs scores $s$ of shape $(N, C)$, and the loss is the
# mean over the batch of $-\log p_{i, y_i}$ with $p = \operatorname{softmax}(s)$ row by row.
# Write one sample's loss with the log-sum-exp of notebook 01:
#
# $$
# \ell = -\log \frac{e^{s_y}}{\sum_j e^{s_j}} = -s_y + \log \sum_j e^{s_j} .
# $$
#
# Its derivative with respect to each score $s_k$ turns out remarkably simple when written
# with the probabilities $p$; you derive it in the exercise (the hints walk through it). The
# loss of the batch is the mean of the $N$ samples' losses, and each score belongs to one
# sample only.
#
# **Worked example.** One sample, $s = (2, 1, 0.1)$, true class $y = 0$. The cell prints its
# probabilities and the gradient `nnlib` computes: compare the two rows.

# %%
s_ex = np.array([[2.0, 1.0, 0.1]])
print("p        =", nnlib.softmax(s_ex))
print("gradient =", nnlib.softmax_cross_entropy_backward(s_ex, np.array([0])))

# %% [markdown]
# ### Exercise 8: `softmax_cross_entropy_backward` (15 points)
#
# Compute the probabilities **stably**, as in notebook 01: subtract each row's maximum before
# `np.exp`, so that scores like $10^4$ give no overflow. Do not change `scores` in place.
#
# <details><summary>Hint 1: the two terms</summary>
#
# Differentiate $-s_y$ and $\log \sum_j e^{s_j}$ separately. The first depends on $s_k$ only
# when $k = y$. For the second, the chain rule: the derivative of $\log u$ is $1/u$, and
# the derivative of $u = \sum_j e^{s_j}$ with respect to $s_k$ is $e^{s_k}$.
#
# </details>
#
# <details><summary>Hint 2: one sample's gradient</summary>
#
# $$
# \frac{\partial \ell}{\partial s_k} = -[k = y] + \frac{e^{s_k}}{\sum_j e^{s_j}} = p_k - [k = y],
# $$
#
# with $[k = y]$ equal to 1 for the true class and 0 otherwise: the one-hot label. For the
# mean over the batch, each row is divided by $N$.
#
# </details>
#
# <details><summary>Hint 3: in NumPy</summary>
#
# Compute the probabilities as in your `softmax` of notebook 01 (a new array), subtract 1 at
# the true class of every row with integer array indexing (rows `np.arange(N)`, columns `y`),
# and divide everything by $N$.
#
# </details>

# %% nbgrader={"grade_id": "softmax_cross_entropy_backward", "solution": true}
def softmax_cross_entropy_backward(scores, y):
    """Gradient of the mean softmax cross-entropy loss with respect to the scores.

    scores: (N, C) raw class scores; y: (N,) integer labels in 0..C-1.
    Returns dscores (N, C): the gradient of the mean cross-entropy loss with respect to the
    scores, finite for any finite scores (about 5 lines).
    """
    ### BEGIN SOLUTION
    scores = np.asarray(scores, dtype=float)
    exps = np.exp(scores - scores.max(axis=1, keepdims=True))
    dscores = exps / exps.sum(axis=1, keepdims=True)
    n = scores.shape[0]
    dscores[np.arange(n), np.asarray(y, dtype=int)] -= 1.0
    return dscores / n
    ### END SOLUTION


# %%
scores_chk, y_chk = rng.normal(size=(6, 4)) * 2, rng.integers(0, 4, size=6)
numeric_ce = nnlib.numeric_gradient(lambda v: nnlib.cross_entropy_loss(v, y_chk), scores_chk)
print("relative error:",
      nnlib.rel_error(softmax_cross_entropy_backward(scores_chk, y_chk), numeric_ce))
print("rows sum to 0:", softmax_cross_entropy_backward(scores_chk, y_chk).sum(axis=1))

# %% nbgrader={"grade_id": "test_softmax_cross_entropy_backward", "grade": true, "points": 15}
check("softmax_cross_entropy_backward", softmax_cross_entropy_backward)
### BEGIN HIDDEN TESTS
check("softmax_cross_entropy_backward", softmax_cross_entropy_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Looking back: for the batch, $\frac{\partial L}{\partial s} = \frac{1}{N}\bigl(p -
# \operatorname{onehot}(y)\bigr)$. It could hardly be simpler: the true class's score is pushed
# **up** by $1 - p_y$ (hard when the network is unsure, barely once it is confident), every
# other score is pushed **down** by its probability, and each row of the gradient sums to 0
# (the check above printed those sums).

# %% [markdown]
# ## 8. Initialisation: Glorot
#
# Before training, the weights must be set to *something*. Not all zeros: then every unit of
# a layer computes the same thing, gets the same gradient, and they stay identical forever.
# So we draw them at random. But at what **scale**?
#
# Follow the signal through one affine layer. An output is a sum of $n_\text{in}$ (the
# *fan-in*) terms $x_d W_{dm}$. For independent, zero-mean inputs and weights, variances add:
#
# $$
# \operatorname{Var}(\text{out}) = n_\text{in} \cdot \operatorname{Var}(W) \cdot
# \operatorname{Var}(x).
# $$
#
# If $n_\text{in} \operatorname{Var}(W) < 1$, every layer shrinks the signal by that factor,
# and after 10 layers it has all but vanished; if it is $> 1$, the signal explodes. The
# backward pass multiplies by $W^\top$, so there the same argument involves the *fan-out*
# $n_\text{out}$. Glorot and Bengio (2010) proposed the compromise
# $\operatorname{Var}(W) = \frac{2}{n_\text{in} + n_\text{out}}$. A uniform distribution on
# $[-b, b]$ has variance $b^2 / 3$, which gives
#
# $$
# W \sim U(-b, b), \qquad b = \sqrt{\frac{6}{n_\text{in} + n_\text{out}}}.
# $$
#
# **Worked example.** A layer from 64 inputs to 32 outputs: $b = \sqrt{6 / 96} = 0.25$, so the
# weights are uniform on $[-0.25, 0.25]$ with variance $0.25^2 / 3 = 0.0208 = 2 / 96$.
#
# The picture sends 500 random inputs through 10 *linear* layers of 64 units (no activation,
# to see the scale alone). With small weights, $\mathcal{N}(0, 0.01^2)$, the formula gives
# $n_\text{in}\operatorname{Var}(W) = 64 \cdot 0.01^2 = 0.0064$: the variance shrinks by that
# factor in every layer, the standard deviation by $\sqrt{0.0064} = 0.08$, about 12-fold. With
# weights of standard deviation 0.25, $64 \cdot 0.25^2 = 4$: the standard deviation doubles in
# every layer. With Glorot, $64 \cdot \frac{2}{128} = 1$: it keeps its size. The cell prints the
# factors measured. (The colours stay the same in the next pictures: red for small weights,
# blue for Glorot.)

# %%
INIT_COLOURS = {"small": "#d62728", "glorot": "#1f77b4", "large": "#9467bd", "he": "#2ca02c"}
rng = np.random.default_rng(1)
signal0 = rng.normal(size=(500, 64))
scales = {"small": ("small: N(0, 0.01²)", lambda: nnlib.small_normal(64, 64, rng)),
          "glorot": ("Glorot uniform", lambda: nnlib.glorot_uniform(64, 64, rng)),
          "large": ("large: N(0, 0.25²)", lambda: nnlib.small_normal(64, 64, rng, std=0.25))}
fig, ax = plt.subplots(figsize=(6.5, 3.4))
for init, (label, make_weights) in scales.items():
    signal, stds = signal0, [signal0.std()]
    for _ in range(10):
        signal = signal @ make_weights()
        stds.append(signal.std())
    ax.semilogy(range(11), stds, "o-", color=INIT_COLOURS[init], label=label)
    print(f"{label:>20s}: the std changes by a factor {(stds[-1] / stds[0]) ** (1 / 10):.3f} "
          "per layer")
ax.set(xlabel="layer", ylabel="std of the signal", title="A signal through 10 linear layers")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Exercise 9: `glorot_uniform` (5 points)
#
# Draw the weights with the given generator, in **one** call, exactly as stated: the checker
# compares with the numbers that `rng.uniform(-b, b, size=(fan_in, fan_out))` draws.
#
# <details><summary>Hint</summary>
#
# First the half-width $b$ (`np.sqrt`), then one call of the generator's `uniform` method with
# the low end, the high end and the shape. `np.random.uniform` would ignore `rng` and draw other
# numbers.
#
# </details>

# %% nbgrader={"grade_id": "glorot_uniform", "solution": true}
def glorot_uniform(fan_in, fan_out, rng):
    """Glorot (Xavier) uniform initialisation of a (fan_in, fan_out) weight matrix.

    fan_in, fan_out: ints; rng: a np.random.Generator (use it, not np.random).
    Returns rng.uniform(-b, b, size=(fan_in, fan_out)) with b = sqrt(6 / (fan_in + fan_out))
    (2 lines).
    """
    ### BEGIN SOLUTION
    b = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-b, b, size=(fan_in, fan_out))
    ### END SOLUTION


# %%
W_glorot = glorot_uniform(64, 32, np.random.default_rng(0))
print("shape", W_glorot.shape, " range", W_glorot.min(), W_glorot.max(), " variance",
      W_glorot.var(), "(2/96 =", 2 / 96, ")")

# %% nbgrader={"grade_id": "test_glorot_uniform", "grade": true, "points": 5}
check("glorot_uniform", glorot_uniform)
### BEGIN HIDDEN TESTS
check("glorot_uniform", glorot_uniform, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 9. Vanishing gradients
#
# Now the backward pass of a deep network. Between two affine layers sits an activation, so
# going back through one layer does two things to the gradient:
#
# $$
# dh_{l-1} = \bigl(dh_l \odot \operatorname{act}'(z_l)\bigr)\, W_l^\top .
# $$
#
# It is multiplied by the activation's derivative and by the transposed weights, **once per
# layer**. If these factors are smaller than 1 on average, the gradient shrinks
# *exponentially* with depth: the first layers get almost no gradient and barely learn. That
# is the **vanishing gradient** problem; factors above 1 make it explode instead. Two
# culprits, both from the sections above:
#
# - **sigmoid**: its derivative is at most 0.25, so every sigmoid layer cuts the gradient by
#   at least a factor 4 — even with good weights;
# - **small weights**: $W^\top$ with a tiny scale shrinks the gradient, and the activations in
#   the forward pass too (and `dW = x.T @ dout` needs both).
#
# ReLU's derivative is exactly 1 wherever a unit is active, so ReLU does not shrink the
# gradient the way the sigmoid does. It has a cost of its own, though, which the experiment
# shows as well.
#
# The experiment: networks with 64 units per hidden layer, built by `nnlib.MLP` from **your**
# layer functions (its backward pass is just a loop calling your `affine_backward` and
# activation backward from the last layer to the first). One batch of 200 digits, one
# forward and backward pass, and the size (the norm $\lVert dW_l \rVert$) of the gradient of
# each layer's weights. Besides Glorot and the small weights it also tries a third
# initialisation, *He*, explained after the picture. Colours: blue for Glorot, red for small
# weights, green for He, as above; solid lines for ReLU, dashed lines for sigmoid.

# %%
my_ops = nnlib.Ops(affine_forward=affine_forward, affine_backward=affine_backward,
                   relu_forward=relu_forward, relu_backward=relu_backward,
                   sigmoid_forward=sigmoid_forward, sigmoid_backward=sigmoid_backward,
                   loss=nnlib.cross_entropy_loss, loss_backward=softmax_cross_entropy_backward)
X_digits, y_digits = load_digits()
X_probe, y_probe = X_digits[:200], y_digits[:200]
# He initialisation, N(0, 2 / fan_in): nnlib's he_normal, which you write in notebook 07.
WEIGHTS = {"glorot": glorot_uniform, "small": nnlib.small_normal, "he": nnlib.he_normal}


def layer_statistics(depth, activation, init, seed=0):
    """Gradient norm of every W_l and std of every hidden layer's output, for one batch."""
    rng = np.random.default_rng(seed)
    sizes = [64] + [64] * (depth - 1) + [10]
    params = {}
    for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{l}"], params[f"b{l}"] = WEIGHTS[init](fan_in, fan_out, rng), np.zeros(fan_out)
    model = nnlib.MLP(params, activation=activation, ops=my_ops)
    scores, caches = model.forward(X_probe)
    grads = model.backward(softmax_cross_entropy_backward(scores, y_probe), caches)
    grad_norms = np.array([np.linalg.norm(grads[f"W{l}"]) for l in range(1, depth + 1)])
    hidden_std = np.array([caches[l][0][0].std() for l in range(1, depth)])  # input of layer l+1
    return grad_norms, hidden_std


INIT_NAMES = {"glorot": "Glorot", "small": "small N(0, 0.01²)", "he": "He"}
ACT_STYLES = {"relu": dict(ls="-", marker="o"), "sigmoid": dict(ls="--", marker="s", mfc="white")}
DEPTHS = range(2, 17)
stats = {(depth, act, init): layer_statistics(depth, act, init)
         for depth in DEPTHS for act in ACT_STYLES for init in WEIGHTS}    # about a second

SETTINGS = [("relu", "glorot"), ("sigmoid", "glorot"), ("relu", "small"), ("sigmoid", "small"),
            ("relu", "he")]
fig, ax = plt.subplots(figsize=(7, 3.8))
for act, init in SETTINGS:
    norms = stats[10, act, init][0]
    ax.semilogy(range(1, 11), norms, color=INIT_COLOURS[init], ms=5, **ACT_STYLES[act],
                label=f"{act}, {INIT_NAMES[init]} init")
ax.set(xlabel="layer l (1 = first, next to the input)", ylabel="gradient norm |dW_l|",
       title="10-layer networks: the gradient reaching each layer", xticks=range(1, 11))
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()


def per_layer(ratio, steps):
    """The average factor of one step in a product of `steps` factors, as 'x0.25 (1/4)'."""
    f = ratio ** (1 / steps)
    return f"x{f:.2g}" + (f" (1/{1 / f:.2g})" if f < 0.95 else "")


print("10 layers:         |dW_1|    |dW_10|   |dW_1|/|dW_10|  gradient per layer  "
      "hidden std per layer")
for act, init in SETTINGS:
    norms, hidden = stats[10, act, init]
    print(f"{act:>7}, {init:>6}:  {norms[0]:8.1e}  {norms[-1]:8.1e}  {norms[0] / norms[-1]:10.1e}"
          f"      {per_layer(norms[0] / norms[-1], 9):17s}  "
          f"{per_layer(hidden[-1] / hidden[0], 8)}")

# %% [markdown]
# Read the picture from right to left, the way the gradient travels (the table gives the
# numbers, "per layer" the average factor from one layer to the next):
#
# - **ReLU + Glorot**: the gradient norms are about the same in every layer (from layer 10
#   back to layer 1 they even grow a little): ReLU passes the gradient on without the
#   sigmoid's shrinking.
# - **sigmoid + Glorot**: the gradient shrinks by a factor of about 4 per layer (the 0.25!),
#   so layer 1 gets only a few millionths of what layer 10 gets. With one learning rate for
#   all layers, the first layers would hardly move.
# - **ReLU + small init**: the gradients are tiny *everywhere*. The forward signal has died
#   out: every layer shrinks it by more than the 12-fold of the small weights in section 8
#   (the table: about 1/19), because ReLU also sets about half of its inputs to 0, another
#   factor of about $\sqrt 2$. And `dW = x.T @ dout` is tiny when its input `x` is.
# - **sigmoid + small init**: a sigmoid outputs about 0.5 whatever its tiny input, so the last
#   layer still gets a normal gradient; but on the way back every layer multiplies it by at
#   most 0.25 *and* by the tiny weights, and layer 1 is left with a few $10^{-15}$ of the
#   last layer's gradient: nothing a computer can learn from.
#
# ### ReLU needs more than Glorot: He initialisation
#
# Glorot's argument counts on an activation that lets the signal's variance through, like no
# activation at all (section 8). ReLU sets every negative input to 0, about half of them, and
# so halves the mean square of the signal in every layer. With Glorot weights on 64 → 64
# layers, $n_\text{in} \operatorname{Var}(W) = 1$, so the hidden outputs shrink by about
# $\sqrt 2$ per layer (the table: a factor of about 0.7): over the 15 hidden layers of a
# 16-layer network, by more than a hundred (printed below). The gradients stay level from
# layer to layer, but at a level that sinks as the network gets deeper.
#
# He et al. (2015) fixed this by doubling the variance: **He initialisation** draws
# $W \sim \mathcal{N}\bigl(0, \tfrac{2}{n_\text{in}}\bigr)$, so that
# $n_\text{in} \operatorname{Var}(W) = 2$ makes up for the half that ReLU drops. It is the
# usual choice for ReLU networks; **notebook 07** covers it, and there you will write it
# yourself (`he_normal`). The green line above used it; the slider panel below lets you
# compare it with Glorot at any depth.

# %%
for init in ("glorot", "he"):
    hidden = stats[16, "relu", init][1]
    print(f"16 ReLU layers, {INIT_NAMES[init]:>6} init: std of hidden layer 1 {hidden[0]:.2e}, "
          f"of hidden layer 15 {hidden[-1]:.2e}: {hidden[0] / hidden[-1]:.0f} times smaller")

# %% [markdown]
# Does it matter for learning? Train two 8-layer networks, identical except for the
# activation, both with Glorot initialisation, with plain gradient descent (`nnlib.sgd`,
# learning rate 0.1) for 10 epochs on the digits, all with your layers:

# %%
rng = np.random.default_rng(0)
X_tr, y_tr, X_val, y_val, X_te, y_te = nnlib.train_val_test_split(X_digits, y_digits, 0.15,
                                                                  0.15, rng)
fig, ax = plt.subplots(figsize=(6.5, 3.4))
for act in ("relu", "sigmoid"):
    rng = np.random.default_rng(1)
    deep = nnlib.MLP.create([64] + [64] * 7 + [10], rng, init="glorot", activation=act,
                            ops=my_ops)
    deep_history = nnlib.train(deep, X_tr, y_tr, X_val, y_val, rng=rng, epochs=10,
                               batch_size=32, update_rule=nnlib.sgd,
                               optim_config={"learning_rate": 0.1})
    ax.plot(range(1, 11), deep_history.val_acc, color=INIT_COLOURS["glorot"], **ACT_STYLES[act],
            label=f"{act}: {deep_history.val_acc[-1]:.0%} after 10 epochs")
ax.axhline(0.1, color="0.6", ls=":", lw=1)
ax.text(1, 0.15, "guessing: 10 %", ha="left", color="0.5", fontsize=9)
ax.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1), xticks=range(1, 11),
       title="8-layer networks, Glorot init, plain gradient descent")
ax.legend(fontsize=8, loc="center right")
fig.tight_layout()
plt.show()
sigmoid_8 = stats[8, "sigmoid", "glorot"][0]
print(f"8 layers, sigmoid + Glorot: the first layer's gradient is "
      f"{sigmoid_8[0] / sigmoid_8[-1]:.0e} times the last one's")

# %% [markdown]
# The ReLU network learns; the sigmoid network, whose first layer receives only a few
# hundred-thousandths of the gradient the last one gets (printed above), stays at guessing for
# the whole run. This is why deep networks use ReLU-like activations and careful
# initialisation (and, in later courses, normalisation layers and residual connections).
#
# ### Try it: depth, activation and initialisation
#
# Left: the gradient norm of each layer's weights (log scale); right: the standard deviation
# of each hidden layer's output in the forward pass. Make the network deeper and watch the
# first layers' gradients fall with sigmoid; switch to the small initialisation and watch the
# forward signal collapse too; with ReLU at 16 layers, compare Glorot with He. The log axes
# reach down to the smallest value of any setting, so every bar and every point is drawn.
# (Everything is precomputed above: a redraw only plots.)

# %%
GRADIENT_FIGSIZE = (10, 3.6)
smallest_grad = min(stats[key][0].min() for key in stats)
smallest_std = min(stats[key][1].min() for key in stats)
GRAD_FLOOR = 10.0 ** (np.floor(np.log10(smallest_grad)) - 1)     # the bars start here
STD_FLOOR = 10.0 ** (np.floor(np.log10(smallest_std)) - 1)


def log_ticks(floor, top=1.0, count=6):
    """About `count` powers of ten from floor up to top, for a log axis."""
    exponents = np.arange(np.log10(floor), np.log10(top) + 1)
    step = max(1, int(np.ceil(len(exponents) / count)))
    return 10.0 ** exponents[::-1][::step][::-1]


def draw_gradient_static(fig):
    ax1 = fig.add_axes((0.08, 0.15, 0.40, 0.74))
    ax1.set(yscale="log", ylim=(GRAD_FLOOR, 10), yticks=log_ticks(GRAD_FLOOR), xlim=(0.3, 16.7),
            xticks=range(1, 17, 2), xlabel="layer l", ylabel="|dW_l|",
            title="gradient norm per layer")
    ax1.grid(axis="y", color="0.9")
    ax2 = fig.add_axes((0.58, 0.15, 0.40, 0.74))
    ax2.set(yscale="log", ylim=(STD_FLOOR, 10), yticks=log_ticks(STD_FLOOR), xlim=(0.3, 15.7),
            xticks=range(1, 16, 2), xlabel="hidden layer", ylabel="std of its output",
            title="forward signal")
    ax2.grid(axis="y", color="0.9")


gradient_layer = render_static_layer(draw_gradient_static, GRADIENT_FIGSIZE)


def draw_gradients(fig, depth, activation, init):
    grad_norms, hidden_std = stats[depth, activation, init]
    ax1, ax2 = add_static_layer(fig, gradient_layer)
    colour = INIT_COLOURS[init]
    ax1.bar(range(1, depth + 1), grad_norms - GRAD_FLOOR, bottom=GRAD_FLOOR, color=colour,
            width=0.7, alpha=1.0 if activation == "relu" else 0.55,
            hatch=None if activation == "relu" else "//", edgecolor="white")
    ax2.plot(range(1, depth), hidden_std, color=colour, **ACT_STYLES[activation])
    return (f"{depth} layers, {activation}, {INIT_NAMES[init]} init:  |dW_1| = "
            f"{grad_norms[0]:.1e}, |dW_{depth}| = {grad_norms[-1]:.1e}  (first / last = "
            f"{grad_norms[0] / grad_norms[-1]:.1e});  std of the hidden outputs: layer 1 "
            f"{hidden_std[0]:.1e}, layer {depth - 1} {hidden_std[-1]:.1e}")


gradient_panel = slider_panel(
    draw_gradients,
    {"depth": widgets.IntSlider(value=8, min=2, max=16, description="layers"),
     "activation": widgets.Dropdown(options=["sigmoid", "relu"], value="sigmoid",
                                    description="activation"),
     "init": widgets.Dropdown(options=[(INIT_NAMES[init], init) for init in WEIGHTS],
                              value="glorot", description="initialisation")},
    figsize=GRADIENT_FIGSIZE, title="Vanishing gradients: depth, activation, initialisation")
gradient_panel

# %% [markdown]
# ## 10. A whole network by hand: `two_layer_net`
#
# Time to put the pieces together yourself, exactly as in the diagram of section 1:
#
# $$
# h = XW_1 + b_1,\quad a = \operatorname{relu}(h),\quad s = aW_2 + b_2,\quad
# L = \text{cross-entropy}(s, y).
# $$
#
# Forward, keeping every cache; then backward in reverse order, each step handing its
# gradient to the previous one, as in the diagram's lower row.
#
# ### Worked example
#
# One sample with $D = 2$ features, $H = 3$ hidden units, $C = 2$ classes. The cell computes
# the forward pass with the formulas above and the gradients with `nnlib.two_layer_net`, the
# reference version of the exercise. Follow the shapes and the numbers; note that hidden unit 2
# is inactive ($h < 0$), so it gets no gradient: column 2 of `dW1` and entry 2 of `db1` are 0,
# and so is row 2 of `dW2`, because that unit's output $a$ is 0.

# %%
params_ex = {"W1": np.array([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0]]), "b1": np.array([0.0, 0.5, 0.0]),
             "W2": np.array([[1.0, -1.0], [0.5, 1.0], [-1.0, 1.0]]), "b2": np.array([0.0, 0.1])}
X_ex2, y_ex2 = np.array([[1.0, 2.0]]), np.array([1])
h_ex = X_ex2 @ params_ex["W1"] + params_ex["b1"]
a_ex = np.maximum(h_ex, 0)
s_ex2 = a_ex @ params_ex["W2"] + params_ex["b2"]
loss_ex, grads_ex = nnlib.two_layer_net(params_ex, X_ex2, y_ex2)
print("h =", h_ex, "  a =", a_ex, "  scores =", s_ex2, "  loss =", round(loss_ex, 4))
for key in ("W1", "b1", "W2", "b2"):
    print(f"d{key} =\n{grads_ex[key]}")

# %% [markdown]
# ### Exercise 10: `two_layer_net` (20 points)
#
# Use **your** functions from this notebook. For the value of the loss use
# `nnlib.cross_entropy_loss` (you wrote it in notebook 01).
#
# <details><summary>Hint 1: the forward pass</summary>
#
# Three calls, one per box of the diagram before the loss: `affine_forward` with `W1`, `b1`;
# `relu_forward`; `affine_forward` with `W2`, `b2`. Keep all three caches, each under its own
# name. Then the loss of the scores.
#
# </details>
#
# <details><summary>Hint 2: the backward pass, in reverse order</summary>
#
# `softmax_cross_entropy_backward` gives `dscores`. The second affine layer's backward turns
# `dscores` into `da` and gives `dW2`, `db2`. `relu_backward` turns `da` into `dh` (with the
# ReLU's cache). The first affine layer's backward turns `dh` into `dX`, which nobody needs,
# and gives `dW1`, `db1`.
#
# </details>
#
# <details><summary>Hint 3: which cache goes where</summary>
#
# Every backward call takes the cache of *its own* forward call: the second affine layer's
# backward needs the cache of the second `affine_forward`, not the first. Check the shapes:
# `dW1` must come out `(D, H)`, `dW2` `(H, C)`.
#
# </details>

# %% nbgrader={"grade_id": "two_layer_net", "solution": true}
def two_layer_net(params, X, y):
    """Loss and gradients of affine - ReLU - affine - softmax cross-entropy.

    params: dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); X: (N, D); y: (N,) int labels.
    Returns (loss, grads): loss a float (nnlib.cross_entropy_loss of the scores), grads a
    dict with keys "W1", "b1", "W2", "b2", each shaped like its parameter (about 10 lines).
    """
    ### BEGIN SOLUTION
    h, cache1 = affine_forward(X, params["W1"], params["b1"])
    a, cache_relu = relu_forward(h)
    scores, cache2 = affine_forward(a, params["W2"], params["b2"])
    loss = nnlib.cross_entropy_loss(scores, y)
    dscores = softmax_cross_entropy_backward(scores, y)
    da, dW2, db2 = affine_backward(dscores, cache2)
    dh = relu_backward(da, cache_relu)
    _, dW1, db1 = affine_backward(dh, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    ### END SOLUTION


# %% [markdown]
# Gradient check of all four parameters on a small random network (each relative error
# should be around $10^{-8}$ or smaller):

# %%
rng = np.random.default_rng(2)
params_chk = {"W1": rng.normal(size=(5, 7)) * 0.5, "b1": rng.normal(size=7) * 0.1,
              "W2": rng.normal(size=(7, 3)) * 0.5, "b2": rng.normal(size=3) * 0.1}
X_chk2, y_chk2 = rng.normal(size=(8, 5)), rng.integers(0, 3, size=8)
loss_chk, grads_chk = two_layer_net(params_chk, X_chk2, y_chk2)
print(f"loss {loss_chk:.4f}")
for key in ("W1", "b1", "W2", "b2"):
    numeric_key = nnlib.numeric_gradient(lambda v: two_layer_net(params_chk, X_chk2, y_chk2)[0],
                                         params_chk[key])     # nudges params_chk[key] in place
    print(f"{key}: relative error {nnlib.rel_error(grads_chk[key], numeric_key):.1e}")

# %% nbgrader={"grade_id": "test_two_layer_net", "grade": true, "points": 20}
check("two_layer_net", two_layer_net)
### BEGIN HIDDEN TESTS
check("two_layer_net", two_layer_net, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 11. Your backpropagation learns to read digits
#
# The handwritten digits of notebook 01 (8x8 pixels, so 64 inputs), split into
# training, validation and test sets. The network is `nnlib.MLP`, 64 - 128 - 10 with ReLU, but
# **every step of it is yours**: weights from your `glorot_uniform`, forward and backward
# passes from your affine and ReLU layers, the gradient of the loss from your
# `softmax_cross_entropy_backward`. `nnlib.train` only loops over mini-batches and applies the
# update rule (Adam, the topic of notebook 04) to the gradients your code computes.

# %%
rng = np.random.default_rng(0)
X_tr, y_tr, X_val, y_val, X_te, y_te = nnlib.train_val_test_split(X_digits, y_digits, 0.15,
                                                                  0.15, rng)
params = {"W1": glorot_uniform(64, 128, rng), "b1": np.zeros(128),
          "W2": glorot_uniform(128, 10, rng), "b2": np.zeros(10)}
model = nnlib.MLP(params, activation="relu", ops=my_ops)
start_time = time.perf_counter()
history = nnlib.train(model, X_tr, y_tr, X_val, y_val, rng=rng, epochs=15, batch_size=32,
                      optim_config={"learning_rate": 2e-3})
test_accuracy = model.accuracy(X_te, y_te)
print(f"{len(X_tr)} training digits, 15 epochs in {time.perf_counter() - start_time:.1f} s; "
      f"test accuracy {test_accuracy:.1%} on {len(X_te)} unseen digits")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
epochs = np.arange(1, history.epochs + 1)
ax1.plot(epochs, history.train_loss, "o-", ms=3, label="training")
ax1.plot(epochs, history.val_loss, "o-", ms=3, label="validation")
ax1.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
ax1.legend()
ax2.plot(epochs, history.train_acc, "o-", ms=3, label="training")
ax2.plot(epochs, history.val_acc, "o-", ms=3, label="validation")
ax2.axhline(test_accuracy, color="0.5", ls="--", lw=1, label=f"test: {test_accuracy:.1%}")
ax2.set(xlabel="epoch", ylabel="accuracy", title="Accuracy", ylim=(0.5, 1.01))
ax2.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# The digits it still gets wrong, with the true label and the network's answer. Many are
# hard for people too: an 8x8 image does not hold much.

# %%
predicted = model.predict(X_te)
wrong = np.flatnonzero(predicted != y_te)
print(f"{len(wrong)} of {len(X_te)} test digits misclassified")
shown = wrong[:16]
fig = plot_digit_images(X_te[shown], titles=[f"{y_te[i]} → {predicted[i]}" for i in shown],
                        ncols=8, title_colors=["C3"] * len(shown))
fig.suptitle("Misclassified test digits: true → predicted", y=1.02)
plt.show()

# %% [markdown]
# ## Summary
#
# - A layer is a pair `forward(x, ...) -> (out, cache)` and `backward(dout, cache) -> dx, ...`;
#   every gradient has the shape of its array. Backpropagation calls the backward functions
#   in reverse order, each passing its `dx` on as the previous layer's `dout`.
# - **Affine**: $dx = \text{dout}\,W^\top$, $dW = x^\top \text{dout}$, $db$ = the column sums of
#   dout; the shapes admit no other answer, and the sums over the batch are the "sum over
#   paths" of notebook 02.
# - **ReLU** gates the gradient (it passes where the input was positive); **sigmoid** scales
#   it by $s(1 - s) \le 0.25$ and must be computed without overflow.
# - The backward pass starts at the loss: $2(\hat y - y)/S$ for MSE and
#   $(\operatorname{softmax}(s) - \operatorname{onehot}(y))/N$ for softmax cross-entropy.
# - **Always gradient-check** a new backward function against numeric gradients; relative
#   errors below about $10^{-7}$ mean correct.
# - **Glorot** initialisation, $U(-b, b)$ with $b = \sqrt{6/(n_\text{in} + n_\text{out})}$,
#   keeps signals and gradients at a steady scale through layers that pass the variance on;
#   with sigmoid activations or too-small weights, gradients **vanish** exponentially with
#   depth. ReLU halves the variance in every layer, so ReLU networks use **He**
#   initialisation, $\mathcal{N}(0, 2/n_\text{in})$, which notebook 07 covers.
# - With these pieces, your own code trained a digit classifier (section 11 printed its test
#   accuracy).
#
# Next, in **04 Optimizers**, what to do with the gradients: gradient descent, momentum,
# RMSProp and Adam.
