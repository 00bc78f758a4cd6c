# %% [markdown]
# # 06 Transfer learning
#
# Training a network from scratch needs many labelled examples. Often we have only a handful:
# labelling is slow and expensive. But we may have a network that was already trained, on a
# *different* task with plenty of data. Its early layers have learned to turn raw pixels into
# features (pieces of strokes, loops, corners) that may be useful for the new task too.
# **Transfer learning** reuses them: keep the trained layers, replace the last one, and train on
# the few new labels.
#
# By the end of this notebook you will be able to
#
# - load a **pretrained model** and explain which part of it is reusable;
# - **extract features**: run the network without its last layer (its *head*);
# - **replace the head** with a fresh one for a new set of classes;
# - **freeze** layers and take training steps on the trainable ones only;
# - compare **feature extraction** (train the head only), **fine-tuning** (train all layers)
#   and training **from scratch**, choosing between them with a **validation set**.
#
# | exercise | points |
# |---|---|
# | `extract_features` | 30 |
# | `replace_head` | 30 |
# | `fine_tune_step` | 40 |
#
# Before each exercise the pictures use `nnlib`'s reference implementation of the same function;
# after it, the notebook uses *yours*.

# %% nbgrader={"grade_id": "setup", "locked": true}
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

import nnlib
from autograder import check
from nnlib import plots
from nnlib.pretrained import (
    SOURCE_CLASSES,
    TARGET_CLASSES,
    learn_target,
    load_pretrained,
    same_model,
    source_data,
    starting_point,
    transfer_task,
)
from nnlib.widgets import slider_panel

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. The new task, and too few labels
#
# Our task: recognise the handwritten digits **5, 6, 7, 8 and 9** (five classes, labelled 0..4)
# in small 8×8 images that were scanned slightly off-centre. We have only **20 labelled images per
# class**, 100 in total, to train on.
#
# As in notebook 05, two more sets of labelled images are kept apart. Every choice we make (which
# layers to train, which learning rate, how long) is made on the **validation set**, 20 images
# per class. The **test set**, about 600 images, is looked at once, at the very end, to report
# how well the chosen network does on images that played no part in any choice. (Validation
# labels cost as much as training labels; with so few, one would in practice reuse them, e.g.
# by cross-validation. Here we keep the two roles apart to keep things simple.)

# %%
rng = np.random.default_rng(0)
X_few, y_few, X_val, y_val, X_test, y_test = transfer_task(rng, per_class=20)
print("training:", X_few.shape, "  validation:", X_val.shape, "  test:", X_test.shape)

fig, axes = plt.subplots(2, 10, figsize=(10, 2.4))
for ax, i in zip(axes.ravel(), np.arange(0, 100, 5)):
    ax.imshow(X_few[i].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"label {y_few[i]} = '{TARGET_CLASSES[y_few[i]]}'", fontsize=7)
    ax.axis("off")
fig.suptitle("Some of the 100 labelled training images", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# A network `64 - 128 - 64 - 5` trained on these 100 images from scratch (random initial weights,
# all layers trained with plain SGD, 200 steps on batches of 20) learns them perfectly, yet on the
# validation images it is wrong far more often: with about 17,000 weights and 100 examples, it
# memorises rather than generalises.

# %%
fresh = nnlib.init_mlp([64, 128, 64, 5], np.random.default_rng(1))
scratch_model, _ = learn_target(fresh, list(fresh), X_few, y_few, np.random.default_rng(1))
print(f"from scratch: training accuracy {scratch_model.accuracy(X_few, y_few):.2f}, "
      f"validation accuracy {scratch_model.accuracy(X_val, y_val):.2f}")

# %% [markdown]
# ## 2. A pretrained model
#
# `nnlib` ships a network that was trained earlier on a different task: the digits **0, 1, 2, 3
# and 4**, about 900 images, each batch shifted at random by up to one pixel so that the network
# learned not to care exactly where a stroke sits. It has never seen a 5, 6, 7, 8 or 9. That is
# the usual situation in transfer learning: the source task (here 0..4) has plenty of labels,
# the target task (5..9) has other classes and few labels, and we hope that what the network
# learned about strokes on the first helps with the second.
#
# The model is a parameter dict `W1 b1 W2 b2 W3 b3`, for a network with ReLU after every layer
# but the last:
#
# $$
# x \in \mathbb{R}^{64}
# \;\xrightarrow{\;W_1, b_1,\ \mathrm{ReLU}\;}\; h_1 \in \mathbb{R}^{128}
# \;\xrightarrow{\;W_2, b_2,\ \mathrm{ReLU}\;}\; h_2 \in \mathbb{R}^{64}
# \;\xrightarrow{\;W_3, b_3\;}\; s \in \mathbb{R}^{5} \ \text{(scores for the digits 0..4)}.
# $$
#
# The last layer, $W_3, b_3$, is the **head**: it maps features to scores for the *source*
# classes. Everything before it is the **body**, the part that computes features.

# %%
pretrained, info = load_pretrained()
for key, value in pretrained.items():
    print(f"{key}: {value.shape}")
print("parameters:", sum(v.size for v in pretrained.values()))
print("trained on:", info["source_task"])
X_source, y_source = source_data()
print(f"accuracy on its own digits 0-4: {nnlib.MLP(pretrained).accuracy(X_source, y_source):.3f}")

# %% [markdown]
# Shown one of *our* digits, the pretrained network can only answer with one of its own: each row
# below is a digit of our validation set, and says how often the network takes it for a 0, 1, 2,
# 3 or 4. Its head speaks the wrong language for our task, whatever its body knows.

# %%
votes = nnlib.MLP(pretrained).predict(X_val)
table = np.array([np.bincount(votes[y_val == k], minlength=5) for k in range(5)])
print("our digit | taken for " + "  ".join(f"'{d}'" for d in SOURCE_CLASSES))
for k, row in enumerate(table):
    print(f"      '{TARGET_CLASSES[k]}' |          " + "  ".join(f"{n:3d}" for n in row))

# %% [markdown]
# Each of the 128 units of the first layer computes a weighted sum of the 64 pixels, so its
# weights form an 8×8 image: the pattern of ink that excites the unit (red) or inhibits it
# (blue). Sixteen of them are below. Some look like pieces of strokes; most are hard to read on
# their own: what the network knows is spread over many units and the layers after them.

# %%
fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for k, ax in enumerate(axes.ravel()):
    w = pretrained["W1"][:, k].reshape(8, 8)
    ax.imshow(w, cmap="RdBu_r", vmin=-np.abs(w).max(), vmax=np.abs(w).max())
    ax.set_title(f"unit {k}", fontsize=8)
    ax.axis("off")
fig.suptitle("First-layer weights of the pretrained model (red: ink helps, blue: ink hurts)",
             fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Feature extraction: the network minus its head
#
# Run an image through every layer **except the last**, and keep the activations after the last
# ReLU. For a network with $L$ layers,
#
# $$
# h_0 = x, \qquad h_i = \mathrm{ReLU}\!\left(h_{i-1} W_i + b_i\right) \ \text{for } i = 1,
# \dots, L-1, \qquad \text{features} = h_{L-1}.
# $$
#
# For a batch `X` of shape $(N, D)$ the features have shape $(N, H)$, where $H$ is the number of
# rows of $W_L$ (the head's fan-in): 64 for our model.
#
# Are these features any better than the raw pixels *for our digits*? A simple test: for every
# validation image, find the most similar training image (the one at the smallest Euclidean
# distance) and guess its label. With raw pixels, "similar" means "ink in the same places"; with
# the pretrained features, it means "similar according to what the network learned to look for
# in the digits 0..4". Below, eight validation images picked at random, each with its nearest
# training image in both spaces.

# %%
def nearest(train_Z, query_Z):
    """Index of the closest row of train_Z (N, K) for each row of query_Z (M, K): (M,)."""
    distances = ((query_Z[:, None, :] - train_Z[None, :, :]) ** 2).sum(axis=2)
    return distances.argmin(axis=1)


near_pixels = nearest(X_few, X_val)
near_features = nearest(nnlib.extract_features(pretrained, X_few),
                        nnlib.extract_features(pretrained, X_val))
acc_pixels = np.mean(y_few[near_pixels] == y_val)
acc_features = np.mean(y_few[near_features] == y_val)

shown = np.random.default_rng(5).choice(len(y_val), size=8, replace=False)
fig, axes = plt.subplots(3, 8, figsize=(10, 4.2))
rows = [("validation image", X_val, shown, y_val[shown]),
        ("nearest in pixels", X_few, near_pixels[shown], y_few[near_pixels[shown]]),
        ("nearest in features", X_few, near_features[shown], y_few[near_features[shown]])]
for r, (name, images, index, labels) in enumerate(rows):
    for c in range(8):
        ax = axes[r, c]
        ax.imshow(images[index[c]].reshape(8, 8), cmap="gray_r")
        right = r == 0 or labels[c] == y_val[shown[c]]
        ax.set_title(f"'{TARGET_CLASSES[labels[c]]}'" + ("" if right else " wrong"), fontsize=8,
                     color="k" if right else "C3")
        ax.set(xticks=[], yticks=[])
    axes[r, 0].set_ylabel(name, fontsize=8)
fig.suptitle(f"Label of the nearest training image: right for {acc_pixels:.0%} of the validation "
             f"images with pixels, {acc_features:.0%} with pretrained features", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# The pretrained features are *not* better than the pixels here (the title has the two
# numbers). The body learned to tell 0..4 apart; nothing made it pay attention to what tells a
# 5 from a 9. Features from a different task are not finished features for ours: how much they
# are still worth (as a starting point for training) is what sections 6 and 7 measure.
#
# ### Worked example
#
# A two-layer model ($L = 2$): only layer 1 runs.
#
# $$
# W_1 = \begin{pmatrix} 1 & -1 \\ 2 & 0 \end{pmatrix},\ b_1 = (0,\ 1),\qquad
# x = (1,\ 1):\quad x W_1 + b_1 = (1 + 2,\ -1 + 0) + (0,\ 1) = (3,\ 0),
# $$
#
# and after the ReLU the features are $(3, 0)$, whatever $W_2, b_2$ are. For $x = (1, -1)$:
# $x W_1 + b_1 = (1 - 2,\ -1) + (0,\ 1) = (-1,\ 0)$, features $(0, 0)$.

# %% [markdown]
# ### Exercise 1: `extract_features` (30 points)
#
# Implement the formula above for any number of layers $L$. Do not modify `params` or `X`.
#
# <details><summary>Hint 1</summary>
#
# $L$ is the number of keys of `params` that start with `"W"`. Only the hidden layers run:
# $1, \dots, L-1$, which is `range(1, L)` in Python.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Start from `h = X`; for each hidden layer `i`, replace `h` by
# `np.maximum(h @ params[f"W{i}"] + params[f"b{i}"], 0)`; return the last `h`. About 4 lines.
#
# </details>

# %% nbgrader={"grade_id": "extract_features", "solution": true}
def extract_features(params, X):
    """The activations after the ReLU of layer L-1: the network without its head.

    params: dict W1 b1 ... WL bL (Wi of shape (fan_in, fan_out), bi of shape (fan_out,)), with
    L the number of W keys. X: (N, D) inputs. Returns an (N, H) array, H = the number of rows
    of WL. Modifies neither params nor X.
    """
    ### BEGIN SOLUTION
    L = sum(1 for key in params if key.startswith("W"))
    h = np.asarray(X, dtype=float)
    for i in range(1, L):
        h = np.maximum(h @ params[f"W{i}"] + params[f"b{i}"], 0.0)
    return h
    ### END SOLUTION


# %%
tiny = {"W1": np.array([[1.0, -1.0], [2.0, 0.0]]), "b1": np.array([0.0, 1.0]),
        "W2": np.array([[1.0], [1.0]]), "b2": np.array([0.0])}
print(extract_features(tiny, np.array([[1.0, 1.0], [1.0, -1.0]])))   # [[3, 0], [0, 0]]

# %% nbgrader={"grade_id": "test_extract_features", "grade": true, "points": 30}
check("extract_features", extract_features)
### BEGIN HIDDEN TESTS
check("extract_features", extract_features, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. A new head
#
# The pretrained head outputs 5 scores, one for each source digit 0..4. Our task also has 5
# classes, so the old head would even fit, but its scores mean "this is a 0", ..., "this is a 4":
# the wrong classes. So we cut the head off and put a new, untrained one in its place: a layer
# from the $H = 64$ features to our $C = 5$ classes. Its weights start random, with Glorot's
# uniform initialisation from notebook 03, and its biases at zero:
#
# $$
# W_L \sim U(-b, b)^{H \times C}, \quad b = \sqrt{\frac{6}{H + C}}, \qquad b_L = 0 \in
# \mathbb{R}^{C}.
# $$
#
# Layers $1..L-1$ are copied unchanged: they are the knowledge we transfer. The result is a new
# model that owns its arrays: **copies**, not the pretrained arrays themselves. Training the new
# model must never change the pretrained one (an optimizer that updates in place, `W -= ...`,
# would otherwise change both), so that we can start over from it as often as we like.
#
# ### Worked example
#
# For our model: `W1 (64, 128)`, `b1 (128,)`, `W2 (128, 64)`, `b2 (64,)` are copied;
# `W3 (64, 5)` and `b3 (5,)` are replaced by a new `W3 (64, 5)` with entries in
# $\pm\sqrt{6 / 69} = \pm 0.295$ and `b3 = [0, 0, 0, 0, 0]`.

# %% [markdown]
# ### Exercise 2: `replace_head` (30 points)
#
# Draw the new weights with **one** call `nnlib.glorot_uniform(fan_in, num_classes, rng)` (the
# grader replays the same random numbers). Do not modify `params`.
#
# <details><summary>Hint 1</summary>
#
# A new dict is not enough: `dict(params)` makes a new dict that holds the *same* arrays as
# `params`. Each array of the body needs a copy of its own, `value.copy()`.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# With `L` the number of `W` keys: copy every key except `f"W{L}"` and `f"b{L}"` (a dict
# comprehension), then set `new[f"W{L}"] = nnlib.glorot_uniform(fan_in, num_classes, rng)` with
# `fan_in = params[f"W{L}"].shape[0]`, and `new[f"b{L}"] = np.zeros(num_classes)`. About 6
# lines.
#
# </details>

# %% nbgrader={"grade_id": "replace_head", "solution": true}
def replace_head(params, num_classes, rng):
    """A new parameter dict with a fresh head for num_classes classes.

    params: dict W1 b1 ... WL bL. Returns a new dict with the same keys: W1 b1 ... W(L-1) b(L-1)
    copies of the arrays of params (new arrays with the same values), WL of shape
    (fan_in, num_classes) drawn by one call of nnlib.glorot_uniform from rng, where fan_in is
    the number of rows of params' WL, and bL zeros of shape (num_classes,). Does not modify
    params.
    """
    ### BEGIN SOLUTION
    L = sum(1 for key in params if key.startswith("W"))
    new = {key: np.array(value, copy=True) for key, value in params.items()
           if key not in (f"W{L}", f"b{L}")}
    fan_in = params[f"W{L}"].shape[0]
    new[f"W{L}"] = nnlib.glorot_uniform(fan_in, num_classes, rng)
    new[f"b{L}"] = np.zeros(num_classes)
    return new
    ### END SOLUTION


# %%
new_model = replace_head(pretrained, 5, np.random.default_rng(0))
for key in new_model:
    shared = np.shares_memory(new_model[key], pretrained[key])
    print(f"{key}: {pretrained[key].shape} -> {new_model[key].shape}"
          + ("  (shares memory with the pretrained array!)" if shared else ""))
print("largest |W3| entry:", np.abs(new_model["W3"]).max(), " b3:", new_model["b3"])

# %% nbgrader={"grade_id": "test_replace_head", "grade": true, "points": 30}
check("replace_head", replace_head)
### BEGIN HIDDEN TESTS
check("replace_head", replace_head, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Frozen layers and fine-tuning
#
# With the new head in place, we train on our 100 images. But *which* parameters should change?
#
# - **Feature extraction**: train only the head, $W_L$ and $b_L$. The body is **frozen**: its
#   weights keep their pretrained values. We only fit $64 \cdot 5 + 5 = 325$ numbers to 100
#   images, so there is little room to memorise; but the features stay those made for 0..4.
# - **Fine-tuning**: train all layers, starting from the pretrained values. The features can
#   adapt to the new task; with very few images they can also drift away from what made them
#   good. Fine-tuning is often done with a smaller learning rate than training from scratch, so
#   that the body changes slowly; whether that helps here, the validation set will tell.
# - In between: freeze the first layers, train the later ones. Early layers compute general
#   features (strokes); later ones are more specific to the source task.
#
# One training step with plain gradient descent (SGD) updates the trainable parameters and
# leaves the rest alone:
#
# $$
# \theta_k \leftarrow
# \begin{cases}
# \theta_k - \eta\, \dfrac{\partial L}{\partial \theta_k} & \text{if } k \text{ is trainable} \\
# \theta_k & \text{if } k \text{ is frozen.}
# \end{cases}
# $$
#
# The gradients of frozen layers may still be computed (the backward pass goes through them to
# reach earlier trainable layers), they are just not applied.
#
# What the new dict may share with the old one: a trainable parameter gets a **new array**
# (never `-=` on the array of `params`: that would change the caller's model). A frozen array
# is never changed by anyone, so the new dict may hold the **very same array** (no copy: this is
# what deep-learning frameworks do, and it costs nothing) or a copy; both are right.
#
# ### Worked example
#
# `params = {"W1": [[1.0, 2.0]], "b1": [0.5, 0.5], "W2": [[1.0], [-1.0]], "b2": [0.0]}`, every
# gradient filled with ones, `trainable = ["W2", "b2"]`, learning rate $0.1$: the result is
# `W2 = [[0.9], [-1.1]]`, `b2 = [-0.1]`, while `W1` and `b1` keep their values.

# %% [markdown]
# ### Exercise 3: `fine_tune_step` (40 points)
#
# Return a **new** dict. Do not modify `params` or `grads`, nor any of their arrays.
#
# <details><summary>Hint 1</summary>
#
# Go over `params.items()` once and decide for each key: trainable or frozen? A dict
# comprehension with a conditional expression (`a if condition else b`) does it in one
# statement.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# For a trainable key the value is `value - learning_rate * grads[key]` (a new array); for a
# frozen key it is `value` itself. About 3 lines.
#
# </details>

# %% nbgrader={"grade_id": "fine_tune_step", "solution": true}
def fine_tune_step(params, grads, trainable, learning_rate):
    """One SGD step on the trainable parameters only.

    params, grads: dicts with the same keys (W1 b1 ... WL bL) and matching shapes.
    trainable: a collection of keys to update (e.g. ["W3", "b3"]); learning_rate: a float.
    Returns a new dict with every key of params: for a key in trainable, a new array, one SGD
    step from params[key]; for every other (frozen) key, an array with exactly the values of
    params[key], either that very array (sharing is fine) or a copy. Modifies neither params nor
    grads, nor any of their arrays.
    """
    ### BEGIN SOLUTION
    trainable = set(trainable)
    return {key: value - learning_rate * grads[key] if key in trainable else value
            for key, value in params.items()}
    ### END SOLUTION


# %%
example = {"W1": np.array([[1.0, 2.0]]), "b1": np.array([0.5, 0.5]),
           "W2": np.array([[1.0], [-1.0]]), "b2": np.array([0.0])}
ones = {key: np.ones_like(value) for key, value in example.items()}
print(fine_tune_step(example, ones, ["W2", "b2"], 0.1))

# %% nbgrader={"grade_id": "test_fine_tune_step", "grade": true, "points": 40}
check("fine_tune_step", fine_tune_step)
### BEGIN HIDDEN TESTS
check("fine_tune_step", fine_tune_step, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Your transfer learning against training from scratch
#
# Now four ways to learn our task from the same 100 images, all with your functions and the same
# training loop: mini-batches of 20, plain SGD through your `fine_tune_step`, 40 epochs (200
# steps), validation accuracy after every epoch.
#
# - **from scratch**: a freshly initialised `64 - 128 - 64 - 5` network, every layer trainable;
# - **head only** (feature extraction): the pretrained body with your new head, only `W3, b3`
#   trainable;
# - **all layers** (fine-tuning): the pretrained body with your new head, every layer trainable;
# - **all layers, learning rate 0.01**: the same with a ten times smaller learning rate (the
#   others use 0.1).
#
# `nnlib.pretrained.starting_point` builds each starting model (with your `replace_head`) and
# says what is trainable; `nnlib.pretrained.learn_target` runs the loop: for every batch,
# `nnlib.MLP` computes the loss and every gradient, and your function decides what changes:
#
# ```python
# _, grads = model.loss_and_grads(X_batch, y_batch)
# model.params = fine_tune_step(model.params, grads, trainable, learning_rate)
# ```

# %%
def run(strategy, learning_rate=0.1):
    """Train one strategy on the 100 images; returns the trained MLP and its History."""
    start, trainable = starting_point(strategy, pretrained, 5, np.random.default_rng(2),
                                      new_head=replace_head)
    return learn_target(start, trainable, X_few, y_few, np.random.default_rng(1), epochs=40,
                        X_val=X_val, y_val=y_val, learning_rate=learning_rate,
                        step=fine_tune_step)


runs, seconds = {}, {}
for name, strategy, learning_rate in [("from scratch", "from scratch", 0.1),
                                      ("head only", "head only", 0.1),
                                      ("all layers", "all layers", 0.1),
                                      ("all layers, learning rate 0.01", "all layers", 0.01)]:
    tick = time.perf_counter()
    runs[name] = run(strategy, learning_rate)
    seconds[name] = time.perf_counter() - tick

fig, ax = plt.subplots(figsize=(8, 3.8))
for (name, (_, history)), color in zip(runs.items(), ["C7", "C0", "C3", "C1"]):
    acc = history.val_acc
    ax.plot(np.arange(1, len(acc) + 1), acc, color=color, lw=2, label=f"{name}: {acc[-1]:.2f}")
ax.axhline(1 / 5, color="0.6", ls=":", lw=1, label="guessing: 0.20")
ax.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1), xlim=(0, 41),
       title="20 labelled images per class: validation accuracy after every epoch")
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()

final = {name: history.val_acc[-1] for name, (_, history) in runs.items()}
chosen = max(final, key=final.get)
print("validation accuracy after 40 epochs:",
      ", ".join(f"{name} {acc:.2f}" for name, acc in final.items()))
print(f"chosen on the validation set: {chosen}")
print(f"test accuracy, looked at once: {chosen} {runs[chosen][0].accuracy(X_test, y_test):.3f}, "
      f"from scratch {runs['from scratch'][0].accuracy(X_test, y_test):.3f}")

# %% [markdown]
# Read the curves. Fine-tuning every layer at learning rate 0.1 is ahead from the first epochs
# on and ends clearly above training from scratch: the pretrained body is a better *starting
# point* than random weights, even for digits it never saw. Training only the head ends about
# where training from scratch does: on their own, the features made for 0..4 describe 5..9 no
# better than what a network learns from our 100 images (as the nearest-neighbour test of
# section 3 suggested); they need to adapt. The smaller learning rate 0.01, often recommended for
# fine-tuning, is far behind: it learns slowly, and these layers have to move far from where
# 0..4 left them. The validation set made the choice; the test accuracy, printed last, is the
# honest estimate of how the chosen network does on images that played no part in it.
#
# In head-only training the frozen layers really stayed as they were; only the head moved:

# %%
head_only_model = runs["head only"][0]
start_head_only, _ = starting_point("head only", pretrained, 5, np.random.default_rng(2),
                                    new_head=replace_head)
for key in start_head_only:
    same = np.array_equal(head_only_model.params[key], start_head_only[key])
    print(f"{key}: {'unchanged (frozen)' if same else 'trained'}")

# %% [markdown]
# **Feature extraction is cheap.** When the body is frozen, the features of each image never
# change, so we can compute them *once* with your `extract_features` and train the head alone,
# a one-layer network on 64 features, with the same batches. The result is the same head (up
# to rounding: the matrix products are computed in a different grouping), but every step skips
# the body.

# %%
features_few = extract_features(pretrained, X_few)
features_val = extract_features(pretrained, X_val)
head_alone = {"W1": start_head_only["W3"], "b1": start_head_only["b3"]}   # a 1-layer network

tick = time.perf_counter()
cached_model, cached_history = learn_target(head_alone, ["W1", "b1"], features_few, y_few,
                                            np.random.default_rng(1), epochs=40,
                                            X_val=features_val, y_val=y_val,
                                            step=fine_tune_step)
seconds_cached = time.perf_counter() - tick

trained_head = {"W1": head_only_model.params["W3"], "b1": head_only_model.params["b3"]}
print("the head trained on cached features against the head trained through the network:")
print(same_model(cached_model.params, trained_head))
curve_gap = np.max(np.abs(np.subtract(cached_history.val_acc, runs["head only"][1].val_acc)))
print(f"largest difference between the two validation curves: {curve_gap:.3f}")
print(f"40 epochs, each followed by a validation pass: {seconds_cached * 1000:.0f} ms on cached "
      f"features, {seconds['head only'] * 1000:.0f} ms through the whole network")

# %% [markdown]
# ## 7. Explore: how many labels, and which layers?
#
# The same comparison for 1 to 40 labelled images per class, and for four choices of what to
# train: nothing pretrained (from scratch), the head only, the top two layers, or all layers,
# all at learning rate 0.1. Every point is the validation accuracy after 200 SGD steps, averaged
# over three different draws of the training images (with so few images, which ones we happen
# to have matters a lot). They were all trained in advance, with your `replace_head` and
# `fine_tune_step`, so the panel only looks results up.
#
# Grey: from scratch, blue: head only, green: top two layers, red: all layers; the thick line is
# the choice in the menu, the circle the selected number of images.
#
# Things to look for:
#
# - With how many images per class is training only the head the best choice? From how many on
#   does fine-tuning every layer take over?
# - Is training from scratch ever the best of the four? Is pretraining worth anything with a
#   single image per class?
# - Which choice would you make if you had 5 images per class, and what would the validation
#   set have told you?

# %%
PER_CLASS = [1, 2, 5, 10, 20, 40]
CHOICES = {"from scratch": "from scratch (all layers, random start)",
           "head only": "head only (W3, b3)",
           "top two layers": "top two layers (W2 ... b3)",
           "all layers": "all layers (W1 ... b3)"}
DRAWS = 3
explore_accuracy = {label: [] for label in CHOICES.values()}
for n in PER_CLASS:
    sums = dict.fromkeys(CHOICES, 0.0)
    for draw in range(DRAWS):
        X_n, y_n, *_ = transfer_task(np.random.default_rng([n, draw]), per_class=n)
        for strategy in CHOICES:
            start, trainable = starting_point(strategy, pretrained, 5,
                                              np.random.default_rng([3, draw]),
                                              new_head=replace_head)
            model, _ = learn_target(start, trainable, X_n, y_n, np.random.default_rng([4, draw]),
                                    step=fine_tune_step)
            sums[strategy] += model.accuracy(X_val, y_val) / DRAWS
    for strategy, label in CHOICES.items():
        explore_accuracy[label].append(sums[strategy])


TRANSFER_FIGSIZE = (8, 3.4)


def draw_transfer_background(fig):
    ax = fig.add_axes((0.08, 0.15, 0.9, 0.8))
    ax.set(xticks=range(len(PER_CLASS)), xticklabels=PER_CLASS, xlim=(-0.3, len(PER_CLASS) - 0.7),
           yticks=[0.2, 0.4, 0.6, 0.8, 1.0], ylim=(0.15, 1.0),
           xlabel="labelled images per class", ylabel="validation accuracy")


transfer_background = plots.render_static_layer(draw_transfer_background, TRANSFER_FIGSIZE)


def draw_transfer(fig, per_class, choice):
    (ax,) = plots.add_static_layer(fig, transfer_background)
    x = np.arange(len(PER_CLASS))
    for (name, acc), color in zip(explore_accuracy.items(), ["C7", "C0", "C2", "C3"]):
        selected = name == choice
        ax.plot(x, acc, "o-", color=color, lw=3 if selected else 1, ms=5,
                alpha=1.0 if selected else 0.35, label=name)
    j = PER_CLASS.index(per_class)
    ax.plot([x[j]], [explore_accuracy[choice][j]], "ko", ms=12, mfc="none", mew=2)
    ax.legend(fontsize=8, loc="upper left")
    others = "   ".join(f"{name.split(' (')[0]}: {acc[j]:.2f}"
                       for name, acc in explore_accuracy.items())
    return (f"{per_class} images per class ({5 * per_class} labelled images), {choice}: "
            f"validation accuracy {explore_accuracy[choice][j]:.3f}\n"
            f"all choices at this size: {others}")


transfer_panel = slider_panel(
    draw_transfer,
    {"per_class": widgets.SelectionSlider(options=PER_CLASS, value=20,
                                          description="labelled images per class"),
     "choice": widgets.Dropdown(options=list(explore_accuracy), value="head only (W3, b3)",
                                description="train")},
    figsize=TRANSFER_FIGSIZE, title="Transfer learning: labels and trainable layers")
transfer_panel

# %% [markdown]
# The best choice on the validation set at every size, and by how much it beats training from
# scratch:

# %%
for j, n in enumerate(PER_CLASS):
    scores = {name.split(" (")[0]: acc[j] for name, acc in explore_accuracy.items()}
    best = max(scores, key=scores.get)
    print(f"{n:2d} per class: best {best:15s} {scores[best]:.3f}   "
          f"from scratch {scores['from scratch']:.3f}   "
          f"gain {scores[best] - scores['from scratch']:+.3f}")

# %% [markdown]
# ## Summary
#
# - A **pretrained model** is a network trained on another task with plenty of labels. Its body
#   (layers $1..L-1$) computes features; its head (layer $L$) is specific to the source classes
#   and must be replaced, even when the number of classes happens to match.
# - **Feature extraction**: run the body only, $h_{L-1}$, and train a new head on top. With the
#   body frozen, the features can be computed once and reused, so training is cheap.
# - **Replacing the head**: copy layers $1..L-1$ (copies: the pretrained model must stay as it
#   was), put a Glorot-initialised $W_L$ of shape $(H, C_\text{new})$ and a zero $b_L$ in place
#   of the old head.
# - **Freezing**: an SGD step updates only the trainable parameters, each into a new array;
#   gradients of frozen ones are computed but not applied, and frozen arrays can simply be
#   shared. **Fine-tuning** trains all (or the later) layers, starting from the pretrained
#   values.
# - Here the source task (digits 0..4) and the target task (5..9) have different classes. The
#   pretrained features alone were no better than pixels, yet the pretrained body was a better
#   starting point than random weights: with 20 images per class, fine-tuning every layer beat
#   training from scratch on the validation set, and the test set confirmed it. Which layers to
#   train depends on how many labels there are: in section 7 the head alone was best with one or
#   two images per class, training more layers paid from five on, and training from scratch was
#   never the best choice. The validation set decides; the test set only reports.
