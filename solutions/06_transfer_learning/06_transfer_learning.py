# %% [markdown]
# # 06 Transfer learning
#
# Training a network from scratch needs many labelled examples. Often we have only a handful:
# labelling is slow and expensive. But we may have a network that was already trained, on a
# *different* but related task with plenty of data. Its early layers have learned to turn raw
# pixels into useful features (strokes, loops, corners) and those features are useful for the
# new task too. **Transfer learning** reuses them: keep the trained layers, replace the last one,
# and train on the few new labels.
#
# By the end of this notebook you will be able to
#
# - load a **pretrained model** and explain which part of it is reusable;
# - **extract features**: run the network without its last layer (its *head*);
# - **replace the head** with a fresh one for a new set of classes;
# - **freeze** layers and take training steps on the trainable ones only;
# - compare **feature extraction** (train the head only), **fine-tuning** (train all layers)
#   and training **from scratch**, with 20 labelled images per class.
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
from nnlib.pretrained import TARGET_CLASSES, learn_target, load_pretrained, transfer_task
from nnlib.widgets import slider_panel

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. The new task, and too few labels
#
# Our task: recognise the handwritten digits **5, 6, 7, 8 and 9** (five classes, labelled 0..4)
# in small 8×8 images that were scanned slightly off-centre. We have only **20 labelled images per
# class**, 100 in total, to train on; about 250 more labelled images are kept aside as a test set to
# measure how well we do.

# %%
rng = np.random.default_rng(0)
X_few, y_few, X_val, y_val, X_test, y_test = transfer_task(rng, per_class=20)
print("training:", X_few.shape, y_few.shape, "  test:", X_test.shape, y_test.shape)

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
# all layers trained) learns them perfectly, yet on the test images it is wrong far more often:
# with 17,000 weights and 100 examples, it memorises rather than generalises.

# %%
fresh_params = nnlib.init_mlp([64, 128, 64, 5], np.random.default_rng(1))
scratch_model, _ = learn_target(fresh_params, list(fresh_params), X_few, y_few,
                                np.random.default_rng(1))
print(f"from scratch: training accuracy {scratch_model.accuracy(X_few, y_few):.2f}, "
      f"test accuracy {scratch_model.accuracy(X_test, y_test):.2f}")

# %% [markdown]
# ## 2. A pretrained model
#
# `nnlib` ships a network that was trained earlier on a different task: the digits 0..4, with
# random shifts of one pixel so that it learned not to care exactly where a stroke sits.
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
# Are these features any better than the raw pixels? A simple test: for every test image, find
# the most similar training image (the one at the smallest Euclidean distance) and guess its
# label. With raw pixels, "similar" means "ink in the same places"; with the pretrained
# features, it means "similar according to what the network learned to look for". Below, eight
# test images picked at random, each with its nearest training image in both spaces.

# %%
def nearest(train_Z, query_Z):
    """Index of the closest row of train_Z (N, K) for each row of query_Z (M, K): (M,)."""
    distances = ((query_Z[:, None, :] - train_Z[None, :, :]) ** 2).sum(axis=2)
    return distances.argmin(axis=1)


near_pixels = nearest(X_few, X_test)
near_features = nearest(nnlib.extract_features(pretrained, X_few),
                        nnlib.extract_features(pretrained, X_test))
acc_pixels = np.mean(y_few[near_pixels] == y_test)
acc_features = np.mean(y_few[near_features] == y_test)

shown = np.random.default_rng(5).choice(len(y_test), size=8, replace=False)
fig, axes = plt.subplots(3, 8, figsize=(10, 4.2))
rows = [("test image", X_test, shown, y_test[shown]),
        ("nearest in pixels", X_few, near_pixels[shown], y_few[near_pixels[shown]]),
        ("nearest in features", X_few, near_features[shown], y_few[near_features[shown]])]
for r, (name, images, index, labels) in enumerate(rows):
    for c in range(8):
        ax = axes[r, c]
        ax.imshow(images[index[c]].reshape(8, 8), cmap="gray_r")
        right = r == 0 or labels[c] == y_test[shown[c]]
        ax.set_title(f"'{TARGET_CLASSES[labels[c]]}'" + ("" if right else " wrong"), fontsize=8,
                     color="k" if right else "C3")
        ax.set(xticks=[], yticks=[])
    axes[r, 0].set_ylabel(name, fontsize=8)
fig.suptitle(f"Label of the nearest training image: right for {acc_pixels:.0%} of the test "
             f"images with pixels, {acc_features:.0%} with pretrained features", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# In the feature space, images of the same digit are closer together than in pixel space, even
# though the network never saw these images and was never told about our five classes. That is
# what makes a new head, a single linear layer on these features, enough to tell them apart.
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
# The number of layers $L$ is the number of `W` keys in `params`. Do not modify `params` or `X`.

# %% nbgrader={"grade_id": "extract_features", "solution": true}
def extract_features(params, X):
    """The activations after the ReLU of layer L-1: the network without its head.

    params: dict W1 b1 ... WL bL (Wi of shape (fan_in, fan_out), bi of shape (fan_out,)).
    X: (N, D) inputs. Returns an (N, H) array, H = the number of rows of WL:
    h = X, then h = max(h @ Wi + bi, 0) for i = 1, ..., L-1.

    Hint: about 4 lines; count L with sum(key.startswith("W") for key in params), then loop.
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
# The pretrained head outputs 5 scores, one per source digit 0..4; our task has 5 other classes. So we cut
# the head off and put a new, untrained one in its place: a layer from the $H = 64$ features to
# our $C = 5$ classes. Its weights start random, with Glorot's uniform initialisation from
# notebook 03, and its biases at zero:
#
# $$
# W_L \sim U(-b, b)^{H \times C}, \quad b = \sqrt{\frac{6}{H + C}}, \qquad b_L = 0 \in
# \mathbb{R}^{C}.
# $$
#
# Layers $1..L-1$ are copied unchanged: they are the knowledge we transfer. The result is a new
# dict; the pretrained model itself stays as it was, so we can start over from it as often as we
# like.
#
# ### Worked example
#
# For our model: `W1 (64, 128)`, `b1 (128,)`, `W2 (128, 64)`, `b2 (64,)` are copied;
# `W3 (64, 5)` and `b3 (5,)` are replaced by `W3 (64, 5)` with entries in
# $\pm\sqrt{6 / 69} = \pm 0.295$ and `b3 = [0, 0, 0, 0, 0]`.

# %% [markdown]
# ### Exercise 2: `replace_head` (30 points)
#
# Draw the new weights with **one** call `nnlib.glorot_uniform(fan_in, num_classes, rng)` (the
# grader replays the same random numbers). Do not modify `params`.

# %% nbgrader={"grade_id": "replace_head", "solution": true}
def replace_head(params, num_classes, rng):
    """A new parameter dict with a fresh head for num_classes classes.

    params: dict W1 b1 ... WL bL. Returns a new dict with the same keys: W1 b1 ... W(L-1) b(L-1)
    copied unchanged (np.array(value, copy=True)), WL of shape (fan_in, num_classes) from
    nnlib.glorot_uniform(fan_in, num_classes, rng) with fan_in = params["WL"].shape[0], and
    bL = np.zeros(num_classes).

    Hint: about 6 lines; a dict comprehension for the copies, then set f"W{L}" and f"b{L}".
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
    print(f"{key}: {pretrained[key].shape} -> {new_model[key].shape}")
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
#   weights keep their pretrained values. We only fit about $64 \cdot 5 + 5 = 325$ numbers to 100
#   images, so there is little room to memorise.
# - **Fine-tuning**: train all layers, starting from the pretrained values, usually with a small
#   learning rate. The features can adapt to the new task, but with very few images they can also
#   drift away from what made them good.
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
# ### Worked example
#
# `params = {"W1": [[1.0, 2.0]], "b1": [0.5, 0.5], "W2": [[1.0], [-1.0]], "b2": [0.0]}`, every
# gradient filled with ones, `trainable = ["W2", "b2"]`, learning rate $0.1$: the result is
# `W2 = [[0.9], [-1.1]]`, `b2 = [-0.1]`, while `W1` and `b1` keep their values.

# %% [markdown]
# ### Exercise 3: `fine_tune_step` (40 points)
#
# Return a **new** dict. Do not modify `params` or `grads` (no `params[key] -= ...`, not even
# through a copy made with `dict(params)`, which copies the dict but shares its arrays).

# %% nbgrader={"grade_id": "fine_tune_step", "solution": true}
def fine_tune_step(params, grads, trainable, learning_rate):
    """One SGD step on the trainable parameters only.

    params, grads: dicts with the same keys (W1 b1 ... WL bL) and matching shapes.
    trainable: a collection of keys to update (e.g. ["W3", "b3"]); learning_rate: a float.
    Returns a new dict with every key of params: params[key] - learning_rate * grads[key] for a
    key in trainable, and an unchanged copy of params[key] for every other key.

    Hint: about 3 lines; a dict comprehension with a conditional expression.
    """
    ### BEGIN SOLUTION
    trainable = set(trainable)
    return {key: value - learning_rate * grads[key] if key in trainable
            else np.array(value, copy=True) for key, value in params.items()}
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
# Now the three ways to learn our task from the same 100 images, all with your functions and
# the same training loop: mini-batches of 20, plain SGD with learning rate 0.1 through your
# `fine_tune_step`, 40 epochs, test accuracy after every epoch.
#
# - **from scratch**: a freshly initialised `64 - 128 - 64 - 5` network, every layer trainable;
# - **feature extraction**: the pretrained body with your new head, only `W3, b3` trainable;
# - **fine-tuning**: the pretrained body with your new head, every layer trainable.
#
# The loop itself is short: `nnlib.MLP` computes the loss and every gradient; your function
# decides what changes.

# %%
def train_with_your_step(params, trainable, X, y, epochs=40, learning_rate=0.1, seed=1,
                         every_epoch=True):
    """SGD with your fine_tune_step on (X, y) in batches of 20.

    Returns the trained MLP and its accuracy on the test set after every epoch (or, with
    every_epoch=False, after the last one only).
    """
    loop_rng = np.random.default_rng(seed)
    model = nnlib.MLP(params)
    accuracies = []
    for epoch in range(epochs):
        for X_batch, y_batch in nnlib.iterate_minibatches(X, y, 20, loop_rng):
            _, grads = model.loss_and_grads(X_batch, y_batch)
            model.params = fine_tune_step(model.params, grads, trainable, learning_rate)
        if every_epoch or epoch == epochs - 1:
            accuracies.append(model.accuracy(X_test, y_test))
    return model, np.array(accuracies)


start = replace_head(pretrained, 5, np.random.default_rng(2))
fresh = nnlib.init_mlp([64, 128, 64, 5], np.random.default_rng(2))
runs = {"from scratch": train_with_your_step(fresh, list(fresh), X_few, y_few)}
tick = time.perf_counter()
runs["feature extraction (head only)"] = train_with_your_step(start, ["W3", "b3"], X_few, y_few)
seconds_head_only = time.perf_counter() - tick
runs["fine-tuning (all layers)"] = train_with_your_step(start, list(start), X_few, y_few)

fig, ax = plt.subplots(figsize=(8, 3.8))
for (name, (_, acc)), color in zip(runs.items(), ["C7", "C0", "C3"]):
    ax.plot(np.arange(1, len(acc) + 1), acc, color=color, lw=2,
            label=f"{name}: {acc[-1]:.2f}")
ax.axhline(1 / 5, color="0.6", ls=":", lw=1, label="guessing: 0.20")
ax.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1), xlim=(0, len(acc) + 1),
       title="20 labelled images per class: pretrained features win")
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()

# %% [markdown]
# Both pretrained variants start far above the network trained from scratch and end far above it,
# and they get there within a few epochs. In head-only training the frozen layers really stayed
# as they were; only the head moved:

# %%
head_only_model = runs["feature extraction (head only)"][0]
for key in start:
    same = np.array_equal(head_only_model.params[key], start[key])
    print(f"{key}: {'unchanged (frozen)' if same else 'trained'}")

# %% [markdown]
# **Feature extraction is cheap.** When the body is frozen, the features of each image never
# change, so we can compute them *once* with your `extract_features` and train the head alone, a
# one-layer network on 64 features. The results are identical to head-only training above, but
# every step skips the body.

# %%
features_few = extract_features(pretrained, X_few)
features_test = extract_features(pretrained, X_test)
head_only = {"W1": start["W3"].copy(), "b1": start["b3"].copy()}   # the head as a 1-layer net

tick = time.perf_counter()
head_rng = np.random.default_rng(1)               # the same batches as in head-only training
head_model = nnlib.MLP(head_only)
cached_accuracies = []
for _ in range(40):
    for F_batch, y_batch in nnlib.iterate_minibatches(features_few, y_few, 20, head_rng):
        _, grads = head_model.loss_and_grads(F_batch, y_batch)
        head_model.params = fine_tune_step(head_model.params, grads, ["W1", "b1"], 0.1)
    cached_accuracies.append(head_model.accuracy(features_test, y_test))
seconds_cached = time.perf_counter() - tick

same_curve = np.allclose(cached_accuracies, runs["feature extraction (head only)"][1])
print(f"test accuracy after every epoch identical to head-only training: {same_curve}")
print(f"40 epochs, each followed by a test evaluation: {seconds_cached * 1000:.0f} ms on cached "
      f"features, {seconds_head_only * 1000:.0f} ms through the whole network")

# %% [markdown]
# ## 7. Explore: how many labels, and which layers?
#
# The same comparison for 1 to 40 labelled images per class, and for four choices of what to
# train: nothing pretrained (from scratch), the head only, the top two layers, or all layers.
# Every training set size was trained in advance (with your `replace_head` and
# `fine_tune_step`, 200 SGD steps each) so the panel only looks results up.
#
# Things to look for:
#
# Grey: from scratch, blue: head only, green: top two layers, red: all layers; the thick line is
# the choice in the menu, the circle the selected number of images.
#
# - How many images per class does training from scratch need to reach what feature extraction
#   achieves with 5 per class?
# - Does training more layers help or hurt? With 5 to 200 labelled images, 17,000 pretrained
#   weights are easier to spoil than to improve. With thousands of labelled images, fine-tuning
#   all layers (with a small learning rate) usually comes out ahead.

# %%
PER_CLASS = [1, 2, 5, 10, 20, 40]
CHOICES = {
    "from scratch (all layers, random start)": None,
    "head only (W3, b3)": ["W3", "b3"],
    "top two layers (W2 ... b3)": ["W2", "b2", "W3", "b3"],
    "all layers (W1 ... b3)": ["W1", "b1", "W2", "b2", "W3", "b3"],
}
STEPS = 200
explore_accuracy = {name: [] for name in CHOICES}
for n in PER_CLASS:
    X_n, y_n, *_ = transfer_task(np.random.default_rng(100 + n), per_class=n)
    epochs = int(np.ceil(STEPS / np.ceil(len(y_n) / 20)))
    for name, keys in CHOICES.items():
        if keys is None:
            params0 = nnlib.init_mlp([64, 128, 64, 5], np.random.default_rng(3))
            keys = list(params0)
        else:
            params0 = replace_head(pretrained, 5, np.random.default_rng(3))
        _, accuracies = train_with_your_step(params0, keys, X_n, y_n, epochs=epochs, seed=4,
                                             every_epoch=False)
        explore_accuracy[name].append(accuracies[-1])


TRANSFER_FIGSIZE = (8, 3.4)


def draw_transfer_background(fig):
    ax = fig.add_axes((0.08, 0.15, 0.9, 0.8))
    ax.set(xticks=range(len(PER_CLASS)), xticklabels=PER_CLASS, xlim=(-0.3, len(PER_CLASS) - 0.7),
           yticks=[0.2, 0.4, 0.6, 0.8, 1.0], ylim=(0.15, 1.0),
           xlabel="labelled images per class", ylabel="test accuracy")


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
    ax.legend(fontsize=8, loc="lower right")
    others = "   ".join(f"{name.split(' (')[0]}: {acc[j]:.2f}"
                       for name, acc in explore_accuracy.items())
    return (f"{per_class} images per class ({5 * per_class} labelled images), {choice}: "
            f"test accuracy {explore_accuracy[choice][j]:.3f}\nall choices at this size: {others}")


transfer_panel = slider_panel(
    draw_transfer,
    {"per_class": widgets.SelectionSlider(options=PER_CLASS, value=20,
                                          description="labelled images per class"),
     "choice": widgets.Dropdown(options=list(CHOICES), value="head only (W3, b3)",
                                description="train")},
    figsize=TRANSFER_FIGSIZE, title="Transfer learning: labels and trainable layers")
transfer_panel

# %% [markdown]
# ## Summary
#
# - A **pretrained model** is a network trained on a large, related task. Its body (layers
#   $1..L-1$) computes features that are useful far beyond that task; its head (layer $L$) is
#   specific to the source classes.
# - **Feature extraction**: run the body only, $h_{L-1}$, and train a new head on top. With the
#   body frozen, the features can be computed once and reused, so training is cheap.
# - **Replacing the head**: copy layers $1..L-1$, put a Glorot-initialised $W_L$ of shape
#   $(H, C_\text{new})$ and a zero $b_L$ in place of the old head.
# - **Freezing**: an SGD step updates only the trainable parameters; gradients of frozen ones are
#   computed but not applied. **Fine-tuning** trains all (or the later) layers, starting from the
#   pretrained values.
# - With 20 labelled images per class, both feature extraction and fine-tuning beat training the
#   same network from scratch by a wide margin, and pretraining helped at every size from 1 to 40
#   images per class. With this few labels, training only the head worked best.
