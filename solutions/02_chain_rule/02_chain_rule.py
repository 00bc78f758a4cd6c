# %% [markdown]
# # 02 The chain rule and computational graphs
#
# A network learns by nudging each of its parameters a little in the direction that makes the
# loss smaller. To know that direction we need the **derivative of the loss with respect to
# every parameter** — for a real network, millions of derivatives at every training step. This
# notebook builds the machinery that computes all of them at once, at about the cost of one
# evaluation of the loss: the **chain rule** applied backwards through a **computational graph**.
#
# By the end of this notebook you will be able to
#
# - read a derivative as the slope of a function, estimate it with **finite differences**, and
#   explain why *central* differences are far more accurate than *forward* differences;
# - write `numeric_gradient`, the slow but trustworthy ground truth that every gradient in this
#   course is checked against;
# - apply the **chain rule** by hand, along one path and summed over several paths;
# - draw a computation as a **graph** of small operations, each with its local derivative, and
#   run the **backward pass** through it in reverse topological order;
# - build `Value`, a tiny automatic-differentiation engine (in the spirit of Karpathy's
#   *micrograd*), and train a small neural network with it.
#
# | exercise | points |
# |---|---|
# | `numeric_gradient` | 40 |
# | `Value` | 60 |
#
# Run the cells from top to bottom. Before each exercise the examples use `nnlib`'s reference
# implementation; after it, the notebook uses *yours*.

# %% nbgrader={"grade_id": "setup", "locked": true}
import math
import sys
import time

import matplotlib.pyplot as plt
import numpy as np

import nnlib
from autograder import check
from nnlib.datasets import make_moons
from nnlib.plots import (
    add_static_layer,
    plot_computational_graph,
    plot_decision_regions_2d,
    render_static_layer,
)
from nnlib.widgets import float_slider, slider_panel

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. A derivative is a slope
#
# Take a function of one number, $f(x)$, and a point $x_0$. If we move from $x_0$ a little to
# the right, by $h$, the function changes by $f(x_0 + h) - f(x_0)$. The ratio
#
# $$
# \frac{f(x_0 + h) - f(x_0)}{h}
# $$
#
# is the slope of the straight line (a *secant*) through the two points
# $(x_0, f(x_0))$ and $(x_0 + h, f(x_0 + h))$. As $h$ shrinks, the secant turns into the
# **tangent** at $x_0$, and its slope into the **derivative**
#
# $$
# f'(x_0) \;=\; \frac{df}{dx}(x_0) \;=\; \lim_{h \to 0} \frac{f(x_0 + h) - f(x_0)}{h}.
# $$
#
# The derivative says how strongly the output reacts to a small change of the input:
# $f(x_0 + \Delta x) \approx f(x_0) + f'(x_0)\,\Delta x$. In training, $x$ will be a weight
# and $f$ the loss; a positive slope means "decrease this weight to decrease the loss".
#
# Our example for the next two sections is $f(x) = x^3 - 2x$ at $x_0 = 1.5$, whose derivative
# we know exactly: $f'(x) = 3x^2 - 2$, so $f'(1.5) = 4.75$. The picture shows the secants for
# $h = 1, 0.5, 0.1$ closing in on the tangent.

# %%
def cubic(x):
    return x**3 - 2 * x


def cubic_slope(x):                  # the exact derivative, to compare with
    return 3 * x**2 - 2


x0 = 1.5
xs = np.linspace(0.2, 2.7, 200)
fig, ax = plt.subplots(figsize=(6.5, 3.8))
ax.plot(xs, cubic(xs), "k", lw=2, label="$f(x) = x^3 - 2x$")
for h, colour in ((1.0, "C1"), (0.5, "C2"), (0.1, "C0")):
    slope = (cubic(x0 + h) - cubic(x0)) / h
    ax.plot(xs, cubic(x0) + slope * (xs - x0), color=colour, lw=1,
            label=f"secant, h = {h}: slope {slope:.3f}")
    ax.plot(x0 + h, cubic(x0 + h), "o", color=colour, ms=5)
ax.plot(xs, cubic(x0) + cubic_slope(x0) * (xs - x0), "r--", lw=1.5,
        label=f"tangent: slope f'(1.5) = {cubic_slope(x0)}")
ax.plot(x0, cubic(x0), "ko")
ax.set(xlabel="x", ylabel="f(x)", ylim=(-2, 12), title="Secants turn into the tangent as h shrinks")
ax.legend(fontsize=8, loc="upper left")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Finite differences: forward versus central
#
# A computer cannot take the limit $h \to 0$, but it can pick a small $h$ and compute the
# ratio. That is a **finite difference**. There are two common ones:
#
# $$
# \text{forward:}\quad \frac{f(x + h) - f(x)}{h},
# \qquad\qquad
# \text{central:}\quad \frac{f(x + h) - f(x - h)}{2h}.
# $$
#
# The central difference uses one point on each side of $x$. Why is that better? Expand $f$
# around $x$ (Taylor's formula):
#
# $$
# f(x \pm h) = f(x) \pm h f'(x) + \tfrac{h^2}{2} f''(x) \pm \tfrac{h^3}{6} f'''(x) + \dots
# $$
#
# Put this into both formulas:
#
# $$
# \frac{f(x + h) - f(x)}{h} = f'(x) + \underbrace{\tfrac{h}{2} f''(x) + \dots}_{\text{error} \,\propto\, h},
# \qquad
# \frac{f(x + h) - f(x - h)}{2h} = f'(x) + \underbrace{\tfrac{h^2}{6} f'''(x) + \dots}_{\text{error} \,\propto\, h^2}.
# $$
#
# In the central difference the $h^2 f''$ terms of the two sides cancel. Making $h$ ten times
# smaller makes the forward error 10 times smaller, but the central error **100 times** smaller.
#
# ### Worked example
#
# For $f(x) = x^3 - 2x$ at $x_0 = 1.5$ (true slope 4.75), with $h = 0.1$:
#
# - forward: $f(1.6) = 4.096 - 3.2 = 0.896$ and $f(1.5) = 0.375$, so
#   $(0.896 - 0.375) / 0.1 = 5.21$: off by $0.46$;
# - central: $f(1.4) = 2.744 - 2.8 = -0.056$, so $(0.896 - (-0.056)) / 0.2 = 4.76$: off by
#   only $0.01$.
#
# (For a cubic the errors are exactly $4.5h + h^2$ and $h^2$: check it against the table.)

# %%
print("     h    forward    error     central    error")
for h in (0.5, 0.1, 0.01, 0.001):
    forward = (cubic(x0 + h) - cubic(x0)) / h
    central = (cubic(x0 + h) - cubic(x0 - h)) / (2 * h)
    print(f"{h:6g}  {forward:9.6f}  {forward - 4.75:8.2e}  {central:9.6f}  {central - 4.75:8.2e}")

# %% [markdown]
# ### So should $h$ be as small as possible? No: rounding
#
# A float64 carries about 16 significant digits (its relative precision is
# $\varepsilon \approx 2.2 \cdot 10^{-16}$). When $h$ is tiny, $f(x + h)$ and $f(x)$ agree in
# almost all of their digits, and their difference keeps only the few digits in which they
# differ: the rest is rounding noise of size about $\varepsilon\,|f(x)|$. Dividing by $h$
# blows that noise up to about $\varepsilon |f(x)| / h$. So the total error is roughly
#
# $$
# \text{forward: } \; C_1 h + \frac{\varepsilon |f|}{h},
# \qquad\qquad
# \text{central: } \; C_2 h^2 + \frac{\varepsilon |f|}{h}.
# $$
#
# The first term wants a small $h$, the second a large one. On a **log-log plot** (both axes
# logarithmic) a power law $h^p$ is a straight line of slope $p$, so we expect V shapes:
# slope $+1$ (forward) or $+2$ (central) on the right, slope $-1$ on the left where rounding
# wins. Setting the two terms equal predicts the best forward step near
# $h \approx \sqrt{\varepsilon} \approx 10^{-8}$ and the best central step near
# $h \approx \varepsilon^{1/3} \approx 10^{-5}$, where the central error is much smaller. The
# dots mark the best $h$ of each on the measured curves (printed under the picture). That is why
# `numeric_gradient` uses central differences with `h=1e-5` by default.

# %%
h_grid = 10.0 ** np.linspace(-14, 0, 281)
forward_error = np.abs((cubic(x0 + h_grid) - cubic(x0)) / h_grid - 4.75)
central_error = np.abs((cubic(x0 + h_grid) - cubic(x0 - h_grid)) / (2 * h_grid) - 4.75)
forward_error = np.maximum(forward_error, 1e-17)     # a lucky exact 0 cannot go on a log axis
central_error = np.maximum(central_error, 1e-17)

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.loglog(h_grid, forward_error, "C1", lw=1.2, label="forward difference")
ax.loglog(h_grid, central_error, "C0", lw=1.2, label="central difference")
ax.loglog(h_grid, 4.5 * h_grid, "C1:", lw=1, label="slope 1: $4.5h$")
ax.loglog(h_grid, h_grid**2, "C0:", lw=1, label="slope 2: $h^2$")
ax.loglog(h_grid, 2.2e-16 * 0.375 / h_grid, "0.5", ls="--", lw=1,
          label=r"slope -1: rounding $\varepsilon |f| / h$")
for error, colour in ((forward_error, "C1"), (central_error, "C0")):
    best = np.argmin(error)
    ax.plot(h_grid[best], error[best], "o", color=colour, ms=6)
ax.set(xlabel="step h", ylabel="|estimate - true slope|", ylim=(1e-13, 10),
       title="Error of finite differences at x0 = 1.5")
ax.legend(fontsize=8, loc="lower left")
fig.tight_layout()
plt.show()
eps = np.finfo(float).eps
print(f"machine epsilon {eps:.2e}: its square root {np.sqrt(eps):.1e}, its cube root "
      f"{np.cbrt(eps):.1e}")
for name, error in (("forward", forward_error), ("central", central_error)):
    best = np.argmin(error)
    print(f"{name}: smallest error {error[best]:.1e} at h = {h_grid[best]:.1e}")

# %% [markdown]
# ### Try it: the step $h$
#
# Move the slider: it sets the exponent of $h$ (at $-5$, $h = 10^{-5}$). On the left, the
# forward secant (orange) and the central secant (blue) next to the true tangent (dashed red); on
# the right, where this $h$ sits on the error curves. For large $h$ the forward secant is visibly
# tilted; the central one hugs the tangent long after. Once $h$ is smaller than an estimate's
# best step (the dots above, printed under that picture), that estimate gets *worse* again:
# that is rounding. The central one turns first: its other error, $\propto h^2$, falls so fast
# that rounding wins already at a larger $h$.

# %%
STEP_FIGSIZE = (10, 3.4)


def draw_step_static(fig):
    """What never changes, rendered once: the curves, axes, ticks and titles."""
    ax1 = fig.add_axes((0.06, 0.14, 0.40, 0.76))
    ax1.plot(xs, cubic(xs), "k", lw=2)
    ax1.plot(xs, cubic(x0) + 4.75 * (xs - x0), "r--", lw=1.5, label="tangent")
    ax1.plot([], [], "C1", lw=1.2, label="forward secant")
    ax1.plot([], [], "C0", lw=1.2, label="central secant")
    ax1.set(xlim=(0.2, 2.7), ylim=(-2, 12), xlabel="x", title="f and the two secants")
    ax1.legend(fontsize=8, loc="upper left")
    ax2 = fig.add_axes((0.57, 0.14, 0.40, 0.76))
    ax2.loglog(h_grid, forward_error, "C1", lw=1)
    ax2.loglog(h_grid, central_error, "C0", lw=1)
    ax2.set(ylim=(1e-13, 10), xlabel="h", ylabel="error", title="error against h")


step_layer = render_static_layer(draw_step_static, STEP_FIGSIZE)


def draw_step(fig, log10_h):
    h = 10.0 ** log10_h
    forward = (cubic(x0 + h) - cubic(x0)) / h
    central = (cubic(x0 + h) - cubic(x0 - h)) / (2 * h)
    ax1, ax2 = add_static_layer(fig, step_layer)     # only what changes is drawn here
    ax1.plot(xs, cubic(x0) + forward * (xs - x0), "C1", lw=1.2)
    ax1.plot(xs, cubic(x0) + central * (xs - x0), "C0", lw=1.2)
    ax1.plot([x0 - h, x0, x0 + h], cubic(np.array([x0 - h, x0, x0 + h])), "ko", ms=4)
    ax2.axvline(h, color="0.4", lw=1)
    ax2.plot(h, max(abs(forward - 4.75), 1e-17), "C1o")
    ax2.plot(h, max(abs(central - 4.75), 1e-17), "C0o")
    return (f"h = {h:.2e}:  forward {forward:.12f} (error {abs(forward - 4.75):.1e}),  "
            f"central {central:.12f} (error {abs(central - 4.75):.1e});  true 4.75")


step_panel = slider_panel(draw_step,
                          {"log10_h": float_slider("step h = 10 to the power", -0.3, -13, 0, 0.1,
                                                   readout_format=".1f")},
                          figsize=STEP_FIGSIZE, title="Finite differences: the step h")
step_panel

# %% [markdown]
# ## 3. Functions of many numbers: the gradient
#
# A loss depends on many parameters at once: $f(x)$ where $x$ is an array. The **partial
# derivative** $\partial f / \partial x_i$ is the slope along one element: nudge $x_i$ alone
# and hold every other element fixed. Collect all of them in an array **shaped like $x$** and
# you have the **gradient** $\nabla f(x)$. The numeric gradient does exactly that, element by
# element, with $e_i$ the array that is 1 at position $i$ and 0 elsewhere:
#
# $$
# \big(\nabla f(x)\big)_i \;\approx\; \frac{f(x + h\,e_i) - f(x - h\,e_i)}{2h}.
# $$
#
# It needs two evaluations of $f$ per element: $2n$ for $n$ parameters. For a network with a
# million weights that is two million forward passes *for one gradient*, far too slow to
# train with, but simple enough to trust. We will use it to **check** fast gradients.
#
# ### Worked example
#
# $f(x) = \sum_i x_i^3$ on the $2 \times 2$ array $x = \begin{pmatrix} 1 & -2 \\ 0.5 & 3
# \end{pmatrix}$. Each element only appears in its own term, so the gradient is $3x^2 =
# \begin{pmatrix} 3 & 12 \\ 0.75 & 27 \end{pmatrix}$. Numerically, for the element at row 0,
# column 1 (value $-2$): nudge it to $-2 + h$, evaluate, nudge it to $-2 - h$, evaluate,
# **put it back**, and divide the difference by $2h$.

# %%
def sum_of_cubes(x):
    return float(np.sum(x**3))


x = np.array([[1.0, -2.0], [0.5, 3.0]])
h = 1e-5
old = x[0, 1]
x[0, 1] = old + h
f_plus = sum_of_cubes(x)
x[0, 1] = old - h
f_minus = sum_of_cubes(x)
x[0, 1] = old                                   # put it back!
print("estimate at [0, 1]:", (f_plus - f_minus) / (2 * h), "  exact: 3 * (-2)**2 = 12")
print("nnlib.numeric_gradient:\n", nnlib.numeric_gradient(sum_of_cubes, x))
print("x afterwards (unchanged):\n", x)

# %% [markdown]
# Three details matter when you write it:
#
# 1. **Nudge `x` itself, in place.** The function often does not take `x` as an argument at all
#    but reads it through another name, e.g. `f = lambda _: loss(model.params)` with `x` being
#    `model.params["W1"]`. A modified copy would go unnoticed by `f`.
# 2. **Restore every element** afterwards. Store the old value and assign it back (do not
#    compute `x[i] + h - h`: with rounding that need not give exactly the old number). A
#    `try: ... finally:` makes sure it happens even if `f` raises.
# 3. **Any shape, and views.** `x` can be 1-D, 2-D, 3-D, or a *view* into a bigger array such as
#    `A.T` or `A[:, 1]`. `x.reshape(-1)` of such a view is a **copy**, so nudging the reshaped
#    array would not change `x` at all: index `x` itself, element by element.

# %% [markdown]
# ### Exercise 1: `numeric_gradient` (40 points)
#
# Compute the central-difference gradient of a scalar function `f` at `x`, element by element,
# as described above. Return a new float array shaped like `x`; leave `x` holding exactly its
# original values.
#
# <details><summary>Hint 1: the plan</summary>
#
# Start from an array of zeros shaped like `x` for the result. Then, for every position of
# `x`: nudge that one element up, evaluate `f`, nudge it down, evaluate `f`, put the old value
# back, and store the difference quotient at the same position of the result. The worked
# example above does this for one position.
#
# </details>
#
# <details><summary>Hint 2: visiting every position of any shape</summary>
#
# `np.ndindex(x.shape)` yields every index tuple of an array of that shape: `(0,)`, `(1,)`, ...
# for 1-D, `(0, 0)`, `(0, 1)`, ... for 2-D, and so on. `x[idx]` with such a tuple reads or
# writes one element of `x` itself, also when `x` is a view.
#
# </details>
#
# <details><summary>Hint 3: restoring even when `f` fails</summary>
#
# Save the element's old value in a variable first and assign it back at the end, inside a
# `finally:` block, so that it happens even when `f` raises:
#
# ```python
# try:
#     ...                # the two nudges and the two evaluations
# finally:
#     ...                # put the old value back
# ```
#
# </details>

# %% nbgrader={"grade_id": "numeric_gradient", "solution": true}
def numeric_gradient(f, x, h=1e-5):
    """Central-difference gradient of the scalar function f at x.

    f: a function returning a number; it may read x through another name, so nudge x in place.
    x: float array of any shape, possibly a non-contiguous view such as A.T or A[:, 1].
    Returns a float array shaped like x whose element idx is
        (f(x + h e_idx) - f(x - h e_idx)) / (2 h),   e_idx = 1 at idx, 0 elsewhere.
    Afterwards x holds exactly its original values, even if f raises (about 10 lines).
    """
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape, dtype=float)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        try:
            x[idx] = old + h
            f_plus = float(f(x))
            x[idx] = old - h
            f_minus = float(f(x))
        finally:
            x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
    ### END SOLUTION


# %%
x = np.array([[1.0, -2.0], [0.5, 3.0]])
print(numeric_gradient(sum_of_cubes, x))        # [[3, 12], [0.75, 27]], up to ~1e-10
A = np.arange(6.0).reshape(2, 3)
print(numeric_gradient(sum_of_cubes, A.T))      # a view: 3 * A.T**2
print(A)                                        # unchanged

# %% nbgrader={"grade_id": "test_numeric_gradient", "grade": true, "points": 40}
check("numeric_gradient", numeric_gradient)
### BEGIN HIDDEN TESTS
check("numeric_gradient", numeric_gradient, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The chain rule
#
# Networks are built by **composing** simple functions: the output of one is the input of the
# next. Suppose $y = f(u)$ and $u = g(x)$. Nudge $x$ by $\Delta x$: then $u$ moves by about
# $g'(x)\,\Delta x$, and $y$ by about $f'(u)$ times *that*. The rates multiply:
#
# $$
# \frac{dy}{dx} \;=\; \frac{dy}{du}\cdot\frac{du}{dx} \;=\; f'(g(x))\; g'(x).
# $$
#
# For a longer chain $x \to a \to b \to y$ it is the product of all the local slopes:
# $\dfrac{dy}{dx} = \dfrac{dy}{db}\,\dfrac{db}{da}\,\dfrac{da}{dx}$. Each factor is **local**:
# it involves one small function and only needs the value at its own input.
#
# ### Worked example
#
# $y = e^{\sin(x^2)}$ at $x = 0.5$, split into three steps:
#
# | step | value | local derivative | at $x = 0.5$ |
# |---|---|---|---|
# | $a = x^2$ | $0.25$ | $\frac{da}{dx} = 2x$ | $1.0$ |
# | $b = \sin a$ | $0.247404$ | $\frac{db}{da} = \cos a$ | $0.968912$ |
# | $y = e^{b}$ | $1.280696$ | $\frac{dy}{db} = e^{b}$ | $1.280696$ |
#
# So $\dfrac{dy}{dx} = 1.280696 \times 0.968912 \times 1.0 = 1.240883$. The three small
# pictures show each step's tangent; the right one shows that the slope of the whole
# function is their product.

# %%
x_point = 0.5
a_point = x_point**2
b_point = np.sin(a_point)
y_point = np.exp(b_point)
steps = [("$a = x^2$", lambda t: t**2, x_point, 2 * x_point, "x"),
         (r"$b = \sin a$", np.sin, a_point, np.cos(a_point), "a"),
         ("$y = e^b$", np.exp, b_point, np.exp(b_point), "b"),
         (r"$y = e^{\sin(x^2)}$", lambda t: np.exp(np.sin(t**2)), x_point,
          np.exp(b_point) * np.cos(a_point) * 2 * x_point, "x")]
fig, axes = plt.subplots(1, 4, figsize=(12, 2.9))
for ax, (title, fn, at, slope, var) in zip(axes, steps):
    t = np.linspace(at - 0.6, at + 0.6, 100)
    ax.plot(t, fn(t), "k", lw=1.8)
    ax.plot(t, fn(at) + slope * (t - at), "r--", lw=1.2)
    ax.plot(at, fn(at), "ro", ms=4)
    ax.set(title=f"{title}\nslope {slope:.4f}", xlabel=var)
axes[3].set_facecolor("#fff4e6")
axes[3].set_title(f"{steps[3][0]}\nslope {steps[3][3]:.4f} = the product")
fig.tight_layout()
plt.show()
for name, value, slope in (("a", a_point, 2 * x_point), ("b", b_point, np.cos(a_point)),
                           ("y", y_point, np.exp(b_point))):
    print(f"{name} = {value:.6f}   local derivative {slope:.6f}")
print("product of the local slopes:", 2 * x_point * np.cos(a_point) * np.exp(b_point))
print("numeric gradient:           ",
      nnlib.numeric_gradient(lambda v: float(np.exp(np.sin(v[0] ** 2))), np.array([x_point]))[0])

# %% [markdown]
# ## 5. Computational graphs
#
# A formula can be drawn as a **graph**: each input is a node, each elementary operation
# ($+$, $\times$, $\tanh$, ...) makes a new node from its inputs, and arrows show what feeds
# what. The last node is the output: for us, the loss. Take
#
# $$
# L = (a \cdot b + c) \cdot f \qquad\text{with } a = 2,\; b = -3,\; c = 10,\; f = -2,
# $$
#
# computed in three operations: $e = a \cdot b = -6$, $d = e + c = 4$, $L = d \cdot f = -8$.
# Computing the values from left to right is the **forward pass**. `nnlib.Value` records each
# operation as it happens, so the graph below is drawn from the computation itself: blue boxes
# are inputs (leaves), circles are operations, the orange box is the output.

# %%
a, b, c, f = nnlib.Value(2.0), nnlib.Value(-3.0), nnlib.Value(10.0), nnlib.Value(-2.0)
e = a * b
d = e + c
L = d * f
names = dict(a=a, b=b, c=c, f=f, e=e, d=d, L=L)
fig, ax = plt.subplots(figsize=(9, 3.2))
plot_computational_graph(L, names, ax=ax, show_grad=False, title="Forward pass: values")
plt.show()

# %% [markdown]
# ## 6. Each operation knows its local derivative
#
# The chain rule needs, at every node, the derivative of that node with respect to each of its
# inputs: the **local derivatives**. They are simple, and they can be computed during the
# forward pass, right when the node is made, because they only need the input values:
#
# | operation | forward $\text{out}$ | local derivatives |
# |---|---|---|
# | $a + b$ | $a + b$ | $\frac{\partial\,\text{out}}{\partial a} = 1,\;\; \frac{\partial\,\text{out}}{\partial b} = 1$ |
# | $a \cdot b$ | $a b$ | $\frac{\partial\,\text{out}}{\partial a} = b,\;\; \frac{\partial\,\text{out}}{\partial b} = a$ |
# | $a^n$ ($n$ a number) | $a^n$ | $n\,a^{n-1}$ |
# | $\tanh a$ | $t = \tanh a$ | $1 - t^2$ |
# | $e^{a}$ | $e^{a}$ | $e^{a}$ (itself) |
# | $\operatorname{relu} a = \max(a, 0)$ | $\max(a, 0)$ | $1$ if $a > 0$, else $0$ (also at exactly 0) |
#
# Everything else is built from these, so it needs no derivative of its own:
# $-a = a \cdot (-1)$, $\;a - b = a + (-b)$, $\;a / b = a \cdot b^{-1}$.
#
# Like micrograd, `nnlib.Value` stores, next to each result, its inputs (`_parents`) and the
# local derivative with respect to each of them (`_local_grads`), written right beside the
# forward computation. For $e = a \cdot b$ with $a = 2, b = -3$ the local derivatives are
# $(b, a) = (-3, 2)$:

# %%
print("e:", e, "  op:", e._op)
print("parents:", e._parents)
print("local derivatives d e / d parent:", e._local_grads)

# %% [markdown]
# ## 7. The backward pass: reverse-mode accumulation
#
# We want $\partial L / \partial\,\text{node}$ for every node, called the node's **grad**.
# Start at the output: $\partial L / \partial L = 1$. Then walk the graph **backwards**. At a
# node `out` whose grad is known, the chain rule gives each input `p` its share:
#
# $$
# \frac{\partial L}{\partial p} \;\mathrel{+}=\; \underbrace{\frac{\partial\,\text{out}}{\partial p}}_{\text{local}}
# \cdot \underbrace{\frac{\partial L}{\partial\,\text{out}}}_{\text{out.grad}}
# \qquad\text{in code: } \texttt{p.grad += local * out.grad}.
# $$
#
# ### Worked example (by hand)
#
# | node | rule | grad |
# |---|---|---|
# | $L$ | start | $1$ |
# | $d$ | $L = d \cdot f$: local $f = -2$ | $-2 \cdot 1 = -2$ |
# | $f$ | $L = d \cdot f$: local $d = 4$ | $4 \cdot 1 = 4$ |
# | $e$ | $d = e + c$: local $1$ | $1 \cdot (-2) = -2$ |
# | $c$ | $d = e + c$: local $1$ | $1 \cdot (-2) = -2$ |
# | $a$ | $e = a \cdot b$: local $b = -3$ | $-3 \cdot (-2) = 6$ |
# | $b$ | $e = a \cdot b$: local $a = 2$ | $2 \cdot (-2) = -4$ |
#
# Read one: $\partial L / \partial a = 6$ says that raising $a$ from 2 to 2.001 raises $L$ by
# about $0.006$. `L.backward()` does exactly this table; the grads appear in red below, and a
# numeric check of $\partial L / \partial a$ agrees.

# %%
L.backward()
fig, ax = plt.subplots(figsize=(9, 3.6))
plot_computational_graph(L, names, ax=ax, title="Backward pass: grads (red)")
plt.show()
print("a.grad =", a.grad, "  b.grad =", b.grad, "  c.grad =", c.grad, "  f.grad =", f.grad)
numeric_a = nnlib.numeric_gradient(lambda v: (v[0] * -3.0 + 10.0) * -2.0, np.array([2.0]))[0]
print("numeric dL/da =", round(numeric_a, 6))

# %% [markdown]
# Why backwards? One backward pass, which costs about as much as the forward pass, gives the
# derivative of **one output with respect to every input** at once. A network has one loss
# and millions of weights: exactly the case reverse mode is made for. (The numeric gradient, or
# "forward mode", would need one pass per weight.) Backpropagation is this reverse-mode
# accumulation applied to a network.

# %% [markdown]
# ## 8. A node used twice sums its paths
#
# In a network one value often feeds several operations: an input goes to every unit of the
# first layer, a weight is used for every example of the batch. Then a small change of that
# node reaches the output along several **paths**, and the effects add up. This is the
# multivariable chain rule: if $x$ influences $L$ through $u_1, \dots, u_k$,
#
# $$
# \frac{\partial L}{\partial x} \;=\; \sum_{j=1}^{k} \frac{\partial L}{\partial u_j}\,\frac{\partial u_j}{\partial x}.
# $$
#
# In code this is why it is `p.grad += ...` and not `p.grad = ...`: each use **adds** its share.
#
# ### Worked example
#
# $s = x + y$, $\;L = s \cdot x$ with $x = 3, y = -1$: so $s = 2$ and $L = 6$. Node $x$ is used
# twice, by the $+$ and by the $\times$.
#
# - $L$: grad 1. $\;s$: local $x = 3$, grad $3$.
# - $x$ directly through $\times$: local $s = 2$, share $2 \cdot 1 = 2$.
# - $x$ through $s$: local 1, share $1 \cdot 3 = 3$.
# - total $\partial L / \partial x = 2 + 3 = 5$. Check: $L = x^2 + xy$, so
#   $\partial L / \partial x = 2x + y = 5$. With `=` instead of `+=` we would keep only
#   one of the two shares: 2 or 3, both wrong.
#
# The same happens for $x \cdot x$: both inputs of the $\times$ are $x$, each share is $x$, and
# the sum $2x$ is the familiar derivative of $x^2$.

# %%
x, y = nnlib.Value(3.0), nnlib.Value(-1.0)
s = x + y
L2 = s * x
L2.backward()
w = nnlib.Value(3.0)
square = w * w
square.backward()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 2.6), gridspec_kw={"width_ratios": [3, 2]})
plot_computational_graph(L2, dict(x=x, y=y, s=s, L=L2), ax=ax1, title="x feeds two operations")
plot_computational_graph(square, dict(w=w, out=square), ax=ax2, title="w * w: two arrows from w")
plt.show()
print("x.grad =", x.grad, "(2 + 3)    w.grad =", w.grad, "(= 2w)")

# %% [markdown]
# Because grads accumulate with `+=`, a second call of `backward()` would add everything
# again and double them. Our `backward()` therefore first **resets** the grad of every node
# in the graph to 0, then sets the output's grad to 1 and accumulates. Calling it twice gives
# the same numbers. (PyTorch makes the other choice: it keeps accumulating across calls, and
# you call `optimizer.zero_grad()` yourself.)

# %%
L2.backward()
print("after a second backward: x.grad =", x.grad, " y.grad =", y.grad, " s.grad =", s.grad)

# %% [markdown]
# ## 9. Topological order
#
# Before a node passes its grad on to its inputs, that grad must be **complete**: every path
# through the node must have delivered its share. In the example, $x$ may only pass on (if it
# had inputs) after both $s$ and $L$ have given it their shares. The safe order is a
# **topological order** of the graph, reversed: list the nodes so that every node comes after
# all of its inputs (that is the order of the forward pass), then process that list from the
# end. For $L = (x + y) \cdot x$ one topological order is $x, y, s, L$; backward visits
# $L, s, y, x$.
#
# The classic way to find it is a **depth-first search**: visit a node's inputs first, then
# append the node. Written recursively, it is short:
#
# ```python
# def build(node):                     # recursive version: elegant, but see below
#     if id(node) not in visited:
#         visited.add(id(node))
#         for parent in node._parents:
#             build(parent)
#         order.append(node)           # after all of its inputs
# ```
#
# Two things to notice:
#
# - The **visited set** matters. A node reachable along many paths must be listed once. Without
#   it, the work grows with the number of *paths*, and that can be astronomical: 40 layers of
#   `x = x * a + x * b` make $2^{40} \approx 10^{12}$ paths from the output to `x` with only
#   about 120 nodes (the cell below builds that graph and counts). We key the set by
#   `id(node)`, the object's identity.
# - **Recursion has a depth limit.** Python stops a recursion after a fixed number of nested
#   calls (`sys.getrecursionlimit()`, printed below), with a `RecursionError`, but graphs can be
#   much deeper than that: a sum over 10,000 numbers, a recurrent network unrolled over a long
#   sequence. So the search has to run without recursion: our own Python list, used as a stack,
#   takes the place of the call stack, and each entry on it remembers whether that node's
#   inputs have been dealt with yet. You will write that version in the exercise.
#
# The recursive version on a chain 10,000 nodes deep, and `nnlib.Value` (iterative) on the same
# chain:

# %%
def recursive_order(root):
    order, visited = [], set()

    def build(node):
        if id(node) not in visited:
            visited.add(id(node))
            for parent in node._parents:
                build(parent)
            order.append(node)

    build(root)
    return order


start = nnlib.Value(0.5)
deep = start
for _ in range(10_000):
    deep = deep * 1.0001                      # a chain 10,000 operations deep
try:
    recursive_order(deep)
except RecursionError as error:
    print("recursive version:", type(error).__name__, "-", error)
print("Python's recursion limit:", sys.getrecursionlimit())
deep.backward()
print(f"iterative nnlib.Value: d deep / d start = {start.grad:.6f}  (1.0001**10000 = "
      f"{1.0001**10000:.6f})")

x_many, a_many, b_many = nnlib.Value(1.0), nnlib.Value(0.5), nnlib.Value(0.5)
out_many = x_many
for _ in range(40):
    out_many = out_many * a_many + out_many * b_many           # two paths per layer
print(f"40 layers of x * a + x * b: {len(out_many._topological_order())} nodes, "
      f"2**40 = {2**40:.2e} paths from the output to x")
names2 = {id(x): "x", id(y): "y", id(s): "s", id(L2): "L"}
print("topological order of L = (x + y) * x:",
      [names2[id(node)] for node in L2._topological_order()])

# %% [markdown]
# ## 10. Exercise 2: `Value`, a tiny autodiff engine (60 points)
#
# Now build your own. A `Value` holds one number `.data` and its gradient `.grad`. The
# constructor is given: it also stores `_parents` (the Values this one was computed from) and
# `_local_grads` (the local derivative with respect to each parent, in the same order), and
# `_op` (a short name, used only for drawing).
#
# Every operation follows one pattern: turn a plain-number argument into a `Value` (with
# `Value._lift`), compute the forward number, and return a **new** `Value` made with the
# constructor's four arguments: the number, the tuple of parents, the tuple of their local
# derivatives (plain floats, computed right there from `.data`), and the `_op` name. Then:
#
# 1. `__add__`, `__mul__`, `__pow__`, `tanh`, `exp`, `relu`: one or two lines each, with the
#    local derivatives of the table in section 6.
# 2. `__neg__`, `__sub__`, `__truediv__` and the "reflected" `__radd__`, `__rsub__`, `__rmul__`,
#    `__rtruediv__` (Python calls `__radd__` for `2 + v`, where the left side is a plain
#    number): one line each, built from the operations of step 1, with no derivatives of their
#    own. Careful: `2 - v` calls `v.__rsub__(2)`, which must compute `2 - v`, not `v - 2`.
# 3. `_topological_order()`: depth-first search without recursion (section 9, and Hint 4).
# 4. `backward()`: reset, seed with 1, accumulate in reverse order (sections 7 and 8).
#
# Test as you go: e.g. `v = Value(3.0); out = v * v; out.backward(); v.grad` should be 6.
#
# <details><summary>Hint 1 (step 1): the shape of one operation</summary>
#
# For `self * other` the new node is
#
# ```python
# Value(<the product of the two numbers>, (self, other), (<d out / d self>, <d out / d other>), "*")
# ```
#
# once `other` has been lifted with `Value._lift`. A one-input operation such as `exp` has one
# parent and one local derivative: `(self,)` and `(<d out / d self>,)`, tuples of one element.
#
# </details>
#
# <details><summary>Hint 2 (step 1): the local derivatives in code</summary>
#
# Read them off the table of section 6 and write each with `.data`: in $a \cdot b$ the local
# derivative with respect to $a$ is the *other* factor's number. For `tanh` and `exp`, compute
# the result once (`math.tanh`, `math.exp`) and use it both as the new node's number and in its
# local derivative. For `relu`, a conditional expression `1.0 if ... else 0.0` gives 0 at
# exactly 0.
#
# </details>
#
# <details><summary>Hint 3 (step 2): operations from operations</summary>
#
# Section 6 writes them as formulas: $-a = a \cdot (-1)$, $a - b = a + (-b)$,
# $a / b = a \cdot b^{-1}$; each becomes one `return` line that uses `*`, `+`, `-` or `**` on
# Values, so the graph gets the nodes of those operations. Addition and multiplication do not
# care about order, so `__radd__` and `__rmul__` can hand the work to `__add__` and `__mul__`.
# For `__rsub__` and `__rtruediv__` the plain number comes *first*: lift it to a Value and
# compute "number minus self" and "number divided by self".
#
# </details>
#
# <details><summary>Hint 4 (step 3): depth-first search without recursion</summary>
#
# Keep an `order` list, a `visited` set of `id(node)`, and a `stack` list of pairs
# `(node, expanded)`, starting with `[(self, False)]`. While the stack is not empty, pop a pair:
#
# - `(node, True)`: its inputs are all in `order` already, so append the node to `order`;
# - `(node, False)` for a node not yet visited: mark it visited, push `(node, True)` (it comes
#   back once everything pushed after it is done), then push `(parent, False)` for every parent
#   not yet visited;
# - `(node, False)` for a visited node: skip it.
#
# Try it by hand on $L = (x + y) \cdot x$: the order must list $x$ and $y$ before $s$, and $s$
# before $L$.
#
# </details>
#
# <details><summary>Hint 5 (step 4): the backward pass</summary>
#
# Get the order; set the grad of every node in it to 0; set the output's own grad to 1; then
# walk the order *backwards* and, for each node, add to each parent's grad its local derivative
# times the node's grad (the `p.grad += local * out.grad` of section 7). `zip(node._parents,
# node._local_grads)` pairs each parent with its local derivative.
#
# </details>

# %% nbgrader={"grade_id": "Value", "solution": true}
class Value:
    """A scalar in a computational graph: .data is its value, .grad is d(output)/d(self).

    Supports +, -, *, / and unary -, ** by a number, tanh(), exp(), relu(), with plain numbers
    on either side (2 * v, v + 1, 1 / v). backward() fills in .grad of every node.
    """

    def __init__(self, data, _parents=(), _local_grads=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._parents = tuple(_parents)          # the Values this one was computed from
        self._local_grads = tuple(_local_grads)  # d self / d parent, one float per parent
        self._op = _op                           # e.g. "+", only for drawing

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def _lift(other):
        """other as a Value: a plain number becomes a new leaf Value(other)."""
        return other if isinstance(other, Value) else Value(other)

    # --- operations with their local derivatives ---------------------------------------------
    def __add__(self, other):
        """self + other, as a new Value with parents (self, other) and _op "+". (2 lines)"""
        ### BEGIN SOLUTION
        other = Value._lift(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")
        ### END SOLUTION

    def __mul__(self, other):
        """self * other, as a new Value with parents (self, other) and _op "*". (2 lines)"""
        ### BEGIN SOLUTION
        other = Value._lift(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")
        ### END SOLUTION

    def __pow__(self, exponent):
        """self ** exponent, exponent a plain number (int or float), not a Value.

        A new Value with the one parent self and _op f"**{exponent}". (1-2 lines)
        """
        ### BEGIN SOLUTION
        return Value(self.data**exponent, (self,), (exponent * self.data ** (exponent - 1),),
                     f"**{exponent}")
        ### END SOLUTION

    def tanh(self):
        """tanh(self), as a new Value with the one parent self and _op "tanh". (2 lines)"""
        ### BEGIN SOLUTION
        t = math.tanh(self.data)
        return Value(t, (self,), (1.0 - t * t,), "tanh")
        ### END SOLUTION

    def exp(self):
        """e ** self, as a new Value with the one parent self and _op "exp". (2 lines)"""
        ### BEGIN SOLUTION
        e = math.exp(self.data)
        return Value(e, (self,), (e,), "exp")
        ### END SOLUTION

    def relu(self):
        """max(self, 0), with the one parent self and _op "relu"; its local derivative at
        exactly 0 is 0. (1-2 lines)
        """
        ### BEGIN SOLUTION
        return Value(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,), "relu")
        ### END SOLUTION

    # --- operations built from the ones above: no derivatives of their own -------------------
    def __neg__(self):
        """-self, built from the operations above. (1 line)"""
        ### BEGIN SOLUTION
        return self * -1.0
        ### END SOLUTION

    def __sub__(self, other):
        """self - other, built from the operations above. (1 line)"""
        ### BEGIN SOLUTION
        return self + (-Value._lift(other))
        ### END SOLUTION

    def __truediv__(self, other):
        """self / other, built from the operations above. (1 line)"""
        ### BEGIN SOLUTION
        return self * Value._lift(other) ** -1
        ### END SOLUTION

    def __radd__(self, other):
        """other + self, for a plain number other (e.g. 2 + v, or sum([...])). (1 line)"""
        ### BEGIN SOLUTION
        return self + other
        ### END SOLUTION

    def __rsub__(self, other):
        """other - self, for a plain number other (e.g. 1 - v): not self - other! (1 line)"""
        ### BEGIN SOLUTION
        return Value._lift(other) - self
        ### END SOLUTION

    def __rmul__(self, other):
        """other * self, for a plain number other (e.g. 2 * v). (1 line)"""
        ### BEGIN SOLUTION
        return self * other
        ### END SOLUTION

    def __rtruediv__(self, other):
        """other / self, for a plain number other (e.g. 1 / v): not self / other! (1 line)"""
        ### BEGIN SOLUTION
        return Value._lift(other) / self
        ### END SOLUTION

    # --- reverse-mode autodiff ------------------------------------------------------------------
    def _topological_order(self):
        """A list of every node self depends on, each once, each after all of its _parents
        (so self comes last). Without recursion: graphs can be 10,000+ nodes deep.
        (about 12 lines)
        """
        ### BEGIN SOLUTION
        order, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((parent, False) for parent in node._parents if id(parent) not in visited)
        return order
        ### END SOLUTION

    def backward(self):
        """Set .grad of every node self depends on to d self / d node (so self.grad == 1).

        Calling backward() twice gives the same grads, not doubled ones. (about 6 lines)
        """
        ### BEGIN SOLUTION
        order = self._topological_order()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            for parent, local in zip(node._parents, node._local_grads):
                parent.grad += local * node.grad
        ### END SOLUTION


# %%
v = Value(3.0)
out = v * v + 2 * v - 1 / v
out.backward()
print(out, "  d out / d v =", v.grad, "  expected 2*3 + 2 + 1/9 =", 2 * 3 + 2 + 1 / 9)

# %% nbgrader={"grade_id": "test_Value", "grade": true, "points": 60}
check("Value", Value)
### BEGIN HIDDEN TESTS
check("Value", Value, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 11. Your engine at work
#
# ### Your `Value` against your `numeric_gradient`
#
# First, the habit of this course: never trust a gradient you have not checked. The function
# below uses every operation; your `Value` gives its gradient with one `backward()`, your
# `numeric_gradient` with six evaluations of the forward pass. They should agree to about
# $10^{-9}$ or better, measured by the relative error
# $\max_i \frac{|a_i - b_i|}{|a_i| + |b_i|}$ (`nnlib.rel_error`).

# %%
def formula(p, q, r):
    """Any function of Values: it uses every operation of the engine."""
    return ((p * q + r).tanh() - p / (1 + q**2) + (0.5 * r).exp() * (p - 2).relu()) * 3


point = np.array([2.5, -0.7, 0.3])
inputs = [Value(t) for t in point]
result = formula(*inputs)
result.backward()
by_backward = np.array([v.grad for v in inputs])
by_numeric = numeric_gradient(lambda t: formula(*[Value(u) for u in t]).data, point)
print("your backward():        ", by_backward)
print("your numeric_gradient():", by_numeric)
print("relative error:", nnlib.rel_error(by_backward, by_numeric))

# %% [markdown]
# ### A neuron, drawn from your graph
#
# One artificial neuron with two inputs computes $\tanh(x_1 w_1 + x_2 w_2 + b)$. Built from
# your `Value`, here is its graph after your `backward()`. Read the grads: $\partial\,
# \text{out} / \partial w_2 = 0$ because $x_2 = 0$ (a weight whose input is zero gets no
# gradient), and the grad of each weight is the grad at its product times its input.

# %%
x1, x2 = Value(2.0), Value(0.0)
w1, w2, bias = Value(-3.0), Value(1.0), Value(6.8814)
neuron = (x1 * w1 + x2 * w2 + bias).tanh()
neuron.backward()
fig, ax = plt.subplots(figsize=(11, 4.2))
plot_computational_graph(neuron, dict(x1=x1, x2=x2, w1=w1, w2=w2, b=bias, out=neuron), ax=ax,
                         title="tanh(x1*w1 + x2*w2 + b), computed and differentiated by your Value")
plt.show()

# %% [markdown]
# ### Train a small neural network with your `Value`
#
# Everything a network needs is now in place: a forward pass made of your operations, one
# `backward()`, and a step of **gradient descent**, `p.data -= learning_rate * p.grad` for
# every parameter. The network below has 2 inputs, 8 tanh units and one output score
# $s$; it learns to separate the two half-moons. The loss is the *hinge loss*
# $\frac1N \sum_i \operatorname{relu}(1 - t_i s_i)$ with labels $t_i = \pm 1$: zero for a
# point on the right side with a margin, growing linearly otherwise. Note that there is no
# "zero the grads" step: your `backward()` resets them.
#
# Each step builds a fresh graph of a few thousand nodes (the cell prints how many, and how long
# the 100 steps took). In notebook 03 the same ideas work on whole arrays at once, far faster.

# %%
rng = np.random.default_rng(3)
X_moons, y_moons = make_moons(40, noise=0.1, rng=rng)
X_moons = nnlib.standardize(X_moons, X_moons)        # mean 0, std 1 per column
targets = np.where(y_moons == 1, 1.0, -1.0)
H = 8
W1 = [[Value(w) for w in row] for row in rng.normal(0.0, 1.0, size=(2, H))]
b1 = [Value(0.0) for _ in range(H)]
w_out = [Value(w) for w in rng.normal(0.0, 1.0 / np.sqrt(H), size=H)]
b_out = Value(0.0)
parameters = [w for row in W1 for w in row] + b1 + w_out + [b_out]


def score(point):
    hidden = [(point[0] * W1[0][j] + point[1] * W1[1][j] + b1[j]).tanh() for j in range(H)]
    return sum(h_j * w_j for h_j, w_j in zip(hidden, w_out)) + b_out


start_time = time.perf_counter()
losses = []
for _ in range(100):
    scores = [score(p) for p in X_moons]
    loss = sum((1 - t * s_i).relu() for t, s_i in zip(targets, scores)) / len(X_moons)
    loss.backward()
    for p in parameters:
        p.data -= 0.5 * p.grad                     # learning rate 0.5
    losses.append(loss.data)
train_accuracy = np.mean([(s_i.data > 0) == (t > 0) for s_i, t in zip(scores, targets)])
print(f"{len(loss._topological_order())} nodes in one step's graph; 100 steps took "
      f"{time.perf_counter() - start_time:.1f} s; training accuracy {train_accuracy:.0%}")

W1_np = np.array([[w.data for w in row] for row in W1])   # the learned numbers, as arrays
b1_np = np.array([b.data for b in b1])
w_out_np = np.array([w.data for w in w_out])


def predict_moons(points):
    return (np.tanh(points @ W1_np + b1_np) @ w_out_np + b_out.data > 0).astype(int)


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
ax1.plot(losses)
ax1.set(xlabel="gradient descent step", ylabel="hinge loss", title="Training with your Value")
plot_decision_regions_2d(predict_moons, X_moons, y_moons, ax=ax2,
                         title=f"Learned decision regions (train accuracy {train_accuracy:.0%})")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Try it: the tangent from your `backward()`
#
# The function below is built only from your `Value`'s operations. Move $x_0$: your
# `backward()` gives the slope $f'(x_0)$, drawn as the tangent on the left. On the right is
# the whole derivative curve $f'(x)$ (also from your `backward()`, at 241 points); the slope
# of the tangent on the left is the height of the curve on the right. Where $f$ has a peak or
# a valley, the tangent is flat and $f'$ crosses zero. The readout compares your `backward()`
# with your `numeric_gradient`.

# %%
def bumpy(x):
    """A function of a Value, built only from the engine's operations."""
    return (2 * x).tanh() + 1.5 * (-(x**2)).exp() - 0.1 * x**2


def value_and_slope(x0):
    """f(x0) and f'(x0) from your Value: one forward pass and one backward()."""
    x = Value(x0)
    out = bumpy(x)
    out.backward()
    return out.data, x.grad


curve_x = np.linspace(-3.0, 3.0, 241)
curve = np.array([value_and_slope(t) for t in curve_x])     # precomputed: f and f' on a grid


TANGENT_FIGSIZE = (10, 3.4)


def draw_tangent_static(fig):
    ax1 = fig.add_axes((0.06, 0.14, 0.40, 0.76))
    ax1.plot(curve_x, curve[:, 0], "k", lw=2)
    ax1.set(xlim=(-3, 3), ylim=(-2.2, 2.2), xlabel="x", title="f(x) and the tangent at x0")
    ax2 = fig.add_axes((0.57, 0.14, 0.40, 0.76))
    ax2.plot(curve_x, curve[:, 1], "C0", lw=2)
    ax2.axhline(0, color="0.6", lw=0.8)
    ax2.set(xlim=(-3, 3), ylim=(-2.5, 2.5), xlabel="x", title="f'(x) from your backward()")


tangent_layer = render_static_layer(draw_tangent_static, TANGENT_FIGSIZE)


def draw_tangent(fig, x0):
    f0, slope = value_and_slope(x0)
    numeric = numeric_gradient(lambda t: bumpy(Value(t[0])).data, np.array([x0]))[0]
    ax1, ax2 = add_static_layer(fig, tangent_layer)
    near = np.array([x0 - 1.0, x0 + 1.0])
    ax1.plot(near, f0 + slope * (near - x0), "r-", lw=2)
    ax1.plot(x0, f0, "ro")
    ax2.axvline(x0, color="0.6", lw=0.8, ls=":")
    ax2.plot(x0, slope, "ro")
    return (f"x0 = {x0:+.2f}:  f(x0) = {f0:+.4f},  slope by your backward() = {slope:+.8f},  "
            f"by your numeric_gradient = {numeric:+.8f}")


tangent_panel = slider_panel(draw_tangent, {"x0": float_slider("x0", -0.5, -3.0, 3.0, 0.05)},
                             figsize=TANGENT_FIGSIZE, title="Your Value's slope as a tangent")
tangent_panel

# %% [markdown]
# ## Summary
#
# - A **derivative** is a slope: how much the output moves per unit of input. The **central
#   difference** $\frac{f(x+h) - f(x-h)}{2h}$ has an error $\propto h^2$, the forward difference
#   only $\propto h$; too small an $h$ drowns in rounding, so $h \approx 10^{-5}$ is a good
#   default. Your `numeric_gradient` applies it to every element of an array: slow ($2n$
#   evaluations) but trustworthy, the reference for checking gradients.
# - The **chain rule** multiplies local derivatives along a path; when a value is used several
#   times, the contributions of all paths **add up**.
# - A **computational graph** records every elementary operation with its **local
#   derivatives**. The **backward pass** starts with grad 1 at the output and, in **reverse
#   topological order**, adds `local * grad` to each input: one pass gives the derivative of
#   the output with respect to every node.
# - Your `Value` does this for scalars, with an iterative topological sort (no recursion
#   limit), a visited set (no blow-up on shared nodes), and grads reset at each `backward()`.
#
# Next, in **03 Backpropagation**, the same idea works on whole arrays: layers with a forward
# and a backward function, matrix calculus by shapes, and a real digit classifier trained with
# your own backward pass.
