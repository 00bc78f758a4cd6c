"""Plotting helpers shared by the notebooks (matplotlib only).

Each function draws on a given matplotlib ``Axes`` or ``Figure`` (or makes a new one) and
returns it, so it works in static plots as well as inside a slider panel's ``draw``.
"""

from __future__ import annotations

import numpy as np

from nnlib.graph import topological_order


# --- computational graphs, decision regions, digits, layer pipelines (notebooks 02 and 03) ---
def plot_computational_graph(root, names=None, ax=None, show_grad=True, fontsize=9,
                             title=None):
    """Draw the computational graph that the scalar node ``root`` was computed from.

    root: a ``Value`` (nnlib's or a student's: any object with ``.data``, ``.grad``,
    ``._parents`` and ``._op``). Each value is a box showing its name, its data and, with
    ``show_grad``, its grad (red); each operation is a circle labelled with ``_op``, with an
    arrow from every input and one to its result. Inputs (leaves) are blue, the output orange.
    names: optional dict ``name -> node``, e.g. ``dict(a=a, b=b, L=L)``. Returns the axes.
    Meant for small graphs (up to a few dozen nodes).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    label = {id(node): name for name, node in (names or {}).items()}
    order = topological_order(root)
    parents = {id(n): tuple(getattr(n, "_parents", ())) for n in order}
    depth = {}
    for node in order:
        ps = parents[id(node)]
        depth[id(node)] = 1 + max(depth[id(p)] for p in ps) if ps else 0
    # vertical positions: leaves evenly spaced in order of first use, others between inputs
    gap = 1.25 if show_grad else 1.0
    ypos, leaf_count = {}, 0
    for node in order:
        ps = parents[id(node)]
        if ps:
            ypos[id(node)] = float(np.mean([ypos[id(p)] for p in ps]))
        else:
            ypos[id(node)] = -gap * leaf_count
            leaf_count += 1
    columns = {}
    for node in order:
        columns.setdefault(depth[id(node)], []).append(node)
    for column in columns.values():  # push overlapping boxes of one column apart
        column.sort(key=lambda n: -ypos[id(n)])
        for upper, lower in zip(column, column[1:]):
            if ypos[id(upper)] - ypos[id(lower)] < gap:
                ypos[id(lower)] = ypos[id(upper)] - gap
    step, box_w, box_h, radius = 3.6, 1.9, (0.95 if show_grad else 0.6), 0.4
    xpos = {id(n): step * depth[id(n)] for n in order}
    xs = [xpos[id(n)] for n in order]
    ys = [ypos[id(n)] for n in order]
    ax.set_xlim(min(xs) - box_w / 2 - 0.2, max(xs) + box_w / 2 + 0.2)
    ax.set_ylim(min(ys) - box_h / 2 - 0.3, max(ys) + box_h / 2 + 0.3)
    ax.set_aspect("equal")
    ax.axis("off")

    def fmt(v):
        return f"{v:.4g}"

    def head(node):
        name = label.get(id(node))
        return f"{name} = {fmt(node.data)}" if name else fmt(node.data)

    # the boxes have a size in data units: choose a font size that fits them on this axes
    fig = ax.figure
    bbox = ax.get_position()
    width_in, height_in = bbox.width * fig.get_figwidth(), bbox.height * fig.get_figheight()
    xr = ax.get_xlim()[1] - ax.get_xlim()[0]
    yr = ax.get_ylim()[1] - ax.get_ylim()[0]
    points_per_unit = 72 * min(width_in / xr, height_in / yr)
    longest = max(max(len(head(n)) for n in order),
                  max(len("grad " + fmt(n.grad)) for n in order) if show_grad else 0)
    size = min(fontsize, 0.92 * box_w * points_per_unit / (0.6 * longest),
               0.8 * box_h * points_per_unit / (2.6 if show_grad else 1.4))

    for node in order:
        x, y = xpos[id(node)], ypos[id(node)]
        colour = ("#fde3c8" if node is root else "#d6e6f5" if not parents[id(node)]
                  else "#eeeeee")
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02,rounding_size=0.12",
                                    fc=colour, ec="0.3", lw=1))
        if show_grad:
            ax.text(x, y + 0.2, head(node), ha="center", va="center", fontsize=size)
            ax.text(x, y - 0.2, f"grad {fmt(node.grad)}", ha="center", va="center",
                    fontsize=size, color="#c0392b")
        else:
            ax.text(x, y, head(node), ha="center", va="center", fontsize=size)
        ps = parents[id(node)]
        if not ps:
            continue
        ox = x - step / 2
        ax.add_patch(Circle((ox, y), radius, fc="white", ec="0.3", lw=1))
        op = str(getattr(node, "_op", "")) or "?"
        op = {"*": "\u00d7", "-": "\u2212"}.get(op, op)
        ax.text(ox, y, op, ha="center", va="center",
                fontsize=min(size, 1.7 * radius * points_per_unit / (0.6 * max(len(op), 1))))
        ax.add_patch(FancyArrowPatch((ox + radius, y), (x - box_w / 2, y), arrowstyle="-|>",
                                     mutation_scale=10, color="0.3", shrinkA=0, shrinkB=0))
        seen = {}
        for p in ps:
            k = seen.get(id(p), 0)  # an input used twice by one operation gets two arrows
            seen[id(p)] = k + 1
            repeats = sum(1 for q in ps if q is p)
            offset = 0.0 if repeats == 1 else 0.2 * (1 if k == 0 else -1)
            start = np.array([xpos[id(p)] + box_w / 2, ypos[id(p)] + offset])
            centre = np.array([ox, y + offset])
            direction = centre - start
            end = centre - np.sqrt(radius**2 - offset**2) * direction / max(
                np.linalg.norm(direction), 1e-9)
            rad = 0.0 if repeats == 1 else 0.15 * (-1 if k == 0 else 1)
            if repeats == 1 and depth[id(node)] - depth[id(p)] > 1:
                rad = -0.2 if start[1] >= end[1] else 0.2  # bow around the boxes in between
            ax.add_patch(FancyArrowPatch(tuple(start), tuple(end), arrowstyle="-|>",
                                         mutation_scale=10, color="0.3", shrinkA=0, shrinkB=0,
                                         connectionstyle=f"arc3,rad={rad}"))
    if title:
        ax.set_title(title)
    return ax


def plot_decision_regions_2d(predict, X, y, ax=None, resolution=200, padding=0.3,
                             title=None, cmap="coolwarm"):
    """Colour the plane by ``predict`` and scatter the labelled points on top.

    predict: maps points (M, 2) to labels (M,) or to scores (M, C) (the argmax is taken);
    X (N, 2), y (N,) integer labels. The grid covers the points plus ``padding`` on each side,
    ``resolution`` x ``resolution`` cells. Returns the axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    out = np.asarray(predict(np.column_stack([xx.ravel(), yy.ravel()])))
    labels = out.argmax(axis=1) if out.ndim == 2 else out
    num_classes = int(max(labels.max(initial=0), y.max(initial=0))) + 1
    levels = np.arange(num_classes + 1) - 0.5
    ax.contourf(xx, yy, labels.reshape(xx.shape), levels=levels, cmap=cmap, alpha=0.3)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=num_classes - 0.5, s=18,
               edgecolors="k", linewidths=0.5)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def plot_digit_images(images, titles=None, ncols=8, fig=None, title_colors=None):
    """Show digit images in a grid: images (N, 64) or (N, 8, 8), ink 1 shown black.

    titles: optional list of N strings drawn above the images (``title_colors`` their
    colours); fig: an existing Figure to draw on (a new one otherwise). Returns the figure.
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images, dtype=float)
    n = len(images)
    side = int(round(np.sqrt(images[0].size))) if n else 8
    images = images.reshape(n, side, side)
    ncols = max(1, min(ncols, n))
    nrows = max(1, int(np.ceil(n / ncols)))
    if fig is None:
        fig = plt.figure(figsize=(1.1 * ncols, 1.3 * nrows))
    for i in range(n):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            colour = title_colors[i] if title_colors is not None else "black"
            ax.set_title(titles[i], fontsize=9, color=colour)
    return fig


def plot_layer_pipeline(layers, forward_labels, backward_labels, ax=None, fontsize=10):
    """Diagram of a network as a chain of layers, forward above and backward below.

    layers: names of the K boxes, left to right (e.g. ``["affine", "ReLU", "affine",
    "softmax\\ncross-entropy"]``); forward_labels: K + 1 labels of what flows between them
    to the right (input first, output last); backward_labels: K + 1 labels of the gradients
    flowing to the left, in the same positions. Each box also shows its cache. The labels sit
    above and below the boxes, so a label wider than the gap between two boxes does not run
    into them. Returns the axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    k = len(layers)
    if len(forward_labels) != k + 1 or len(backward_labels) != k + 1:
        raise ValueError("forward_labels and backward_labels need len(layers) + 1 entries")
    if ax is None:
        _, ax = plt.subplots(figsize=(2.2 * k + 1, 2.9))
    step, box_w, box_h = 2.6, 1.8, 1.6
    arrow_y = 0.62                      # the arrows run between the boxes, near their edges
    label_y = box_h / 2 + 0.08          # the labels just outside the boxes' top and bottom
    for i, name in enumerate(layers):
        x = step * (i + 0.5)
        ax.add_patch(FancyBboxPatch((x - box_w / 2, -box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02,rounding_size=0.15",
                                    fc="#eeeeee", ec="0.3"))
        ax.text(x, 0.05, name, ha="center", va="center", fontsize=fontsize, weight="bold")
        ax.text(x, -0.5, "cache", ha="center", va="center", fontsize=fontsize - 2,
                style="italic", color="0.35")
    for j in range(k + 1):
        x = step * j
        left, right = x - (step - box_w) / 2, x + (step - box_w) / 2
        if j == 0:
            left = x - 0.9
        if j == k:
            right = x + 0.9
        ax.add_patch(FancyArrowPatch((left, arrow_y), (right, arrow_y), arrowstyle="-|>",
                                     mutation_scale=12, color="#1f77b4"))
        ax.text(x, label_y, forward_labels[j], ha="center", va="bottom", fontsize=fontsize,
                color="#1f77b4")
        ax.add_patch(FancyArrowPatch((right, -arrow_y), (left, -arrow_y), arrowstyle="-|>",
                                     mutation_scale=12, color="#c0392b"))
        ax.text(x, -label_y, backward_labels[j], ha="center", va="top", fontsize=fontsize,
                color="#c0392b")
    ax.text(-1.0, arrow_y, "forward", ha="right", va="center", fontsize=fontsize - 1,
            color="#1f77b4")
    ax.text(-1.0, -arrow_y, "backward", ha="right", va="center", fontsize=fontsize - 1,
            color="#c0392b")
    ax.set_xlim(-2.2, step * k + 1.0)
    ax.set_ylim(-1.55, 1.55)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


# --- loss surfaces, optimizer paths, train/validation curves (notebooks 04 and 05) ----------
def loss_surface_grid(loss_fn, xlim, ylim, resolution: int = 120):
    """A 2-D loss evaluated on a grid, for contour plots: ``(W1, W2, Z)``, each (res, res).

    loss_fn takes ``w`` of shape (2, ...) (``w[0]``, ``w[1]`` are arrays of the same shape) and
    returns the loss elementwise, e.g. ``lambda w: 0.5 * (w[0]**2 + 20 * w[1]**2)``.
    Compute it once outside a slider panel's ``draw`` and pass it to ``plot_loss_contours``.
    """
    w1, w2 = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    return w1, w2, np.asarray(loss_fn(np.stack([w1, w2])), dtype=float)


def plot_loss_contours(ax, grid, levels=20, log_levels: bool = True, minimum=None):
    """Contour lines of a grid from ``loss_surface_grid`` on ``ax``, light filled background.

    levels: how many contour levels, or the levels themselves (an increasing sequence);
    log_levels: space the levels geometrically (for losses spanning orders of magnitude);
    minimum: optional (w1, w2) marked with a black star. Returns the axes.
    """
    w1, w2, z = grid
    finite = z[np.isfinite(z)]
    lo, hi = float(finite.min()), float(finite.max())
    if np.ndim(levels) == 1:
        values = np.asarray(levels, dtype=float)
    elif log_levels:
        lo_pos = max(lo, hi * 1e-6, 1e-12)
        values = np.geomspace(lo_pos, hi, levels)
        values = np.unique(np.concatenate([[lo], values])) if lo < lo_pos else values
    else:
        values = np.linspace(lo, hi, levels)
    ax.contourf(w1, w2, z, levels=values, cmap="Blues", alpha=0.45)  # low: light, high: blue
    ax.contour(w1, w2, z, levels=values, colors="0.55", linewidths=0.5)
    if minimum is not None:
        ax.plot(*minimum, marker="*", color="k", markersize=12, linestyle="none", zorder=5)
    ax.set_xlim(w1.min(), w1.max())
    ax.set_ylim(w2.min(), w2.max())
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    return ax


def plot_optimizer_paths(ax, paths: dict, colors=None, markers: bool = True,
                         legend: bool = True, legend_loc: str = "best", max_markers: int = 60,
                         linewidths=None, marker_size: float = 4):
    """Draw optimizer trajectories on ``ax``: label -> array (T, 2) of iterates.

    Each path is a line with dots (``marker_size``) at every k-th iterate (at most
    ``max_markers`` dots, so their spacing shows the speed), a hollow circle at its start and a
    cross at its end. colors: optional list, one matplotlib colour per path (default C0, C1,
    ...); linewidths: optional list, one per path (e.g. decreasing, so that paths drawn on top
    of each other stay visible); legend_loc: a fixed place (e.g. "upper right") is faster to
    draw than "best" with long paths. Points outside the axes' limits are clipped, so a
    diverging path shows as a line leaving the picture; non-finite iterates are dropped.
    Returns the axes.
    """
    for i, (label, path) in enumerate(paths.items()):
        path = np.asarray(path, dtype=float)
        path = path[np.all(np.isfinite(path), axis=1)]
        if len(path) == 0:
            continue
        color = colors[i] if colors is not None else f"C{i}"
        stride = max(1, len(path) // max_markers)
        lw = linewidths[i] if linewidths is not None else 1.4
        ax.plot(path[:, 0], path[:, 1], color=color, lw=lw, label=label,
                marker="o" if markers else None, markersize=marker_size, markevery=stride,
                mec="none")
        ax.plot(*path[0], marker="o", color=color, mfc="white", markersize=7)
        ax.plot(*path[-1], marker="X", color=color, markersize=8, mec="k", mew=0.5)
    if legend and paths:
        ax.legend(fontsize=8, loc=legend_loc)
    return ax


def plot_train_val_curves(ax, train, val, label: str = "", color=None, ylabel: str = "loss",
                          best_epoch=None, stop_epoch=None):
    """Training (dashed) and validation (solid) curves per epoch on ``ax``, in one colour.

    best_epoch / stop_epoch: optional epochs marked as early stopping reports them: a dot on
    the validation curve with a dotted line (best), a dashed grey line (stop). Returns the axes.
    """
    prefix = f"{label}: " if label else ""
    (line,) = ax.plot(np.arange(len(val)), val, color=color, lw=1.6, label=f"{prefix}validation")
    color = line.get_color()
    ax.plot(np.arange(len(train)), train, color=color, lw=1.2, ls="--", label=f"{prefix}training")
    if best_epoch is not None:
        ax.plot(best_epoch, val[best_epoch], "o", color=color, markersize=7, zorder=5)
        ax.axvline(best_epoch, color=color, ls=":", lw=1)
    if stop_epoch is not None:
        ax.axvline(stop_epoch, color="0.3", ls="--", lw=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    return ax


def render_static_layer(draw_static, figsize, dpi: int = 90) -> dict:
    """Render the parts of a slider panel's figure that never change, once, for fast redraws.

    draw_static(fig): draws the fixed parts (contours, axis labels, ticks, fixed limits and
    scales) on a new Figure of ``figsize`` and ``dpi`` (a SliderPanel's figure has dpi 90:
    pass the panel's figsize). Returns a layer for ``add_static_layer``: the rendered pixels
    and, for every axes, its final position, limits and scales. Call it outside ``draw``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    draw_static(fig)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # fixes the positions of equal-aspect axes
    axes = [dict(position=ax.get_position().bounds, xlim=ax.get_xlim(), ylim=ax.get_ylim(),
                 xscale=ax.get_xscale(), yscale=ax.get_yscale()) for ax in fig.axes]
    return {"pixels": np.asarray(canvas.buffer_rgba()).copy(), "axes": axes}


def _static_pixels_artist(pixels):
    """A matplotlib Artist painting ``pixels`` (rows top to bottom) unscaled at the origin."""
    from matplotlib.artist import Artist

    rows_bottom_up = np.ascontiguousarray(pixels[::-1])

    class StaticPixels(Artist):
        zorder = -1

        def draw(self, renderer):
            gc = renderer.new_gc()
            renderer.draw_image(gc, 0, 0, rows_bottom_up)  # no resampling, unlike figimage
            gc.restore()

    return StaticPixels()


def add_static_layer(fig, layer: dict) -> list:
    """Paint a layer from ``render_static_layer`` on ``fig``; return one overlay axes per axes.

    The overlay axes sit exactly on the layer's axes, with the same limits and scales, and
    without background, frame or ticks: draw only what changes on them (lines, points,
    legends). Skipping contours and tick labels makes a redraw several times faster; put fixed
    titles in the static layer too (a title on an overlay costs a layout pass).
    fig must have the layer's size in pixels (the same figsize and dpi).
    """
    pixels = layer["pixels"]
    width, height = fig.canvas.get_width_height()
    if (height, width) != pixels.shape[:2]:
        raise ValueError(f"the figure is {width}x{height} pixels but the static layer "
                         f"{pixels.shape[1]}x{pixels.shape[0]}: render it with the same "
                         "figsize and dpi")
    fig.add_artist(_static_pixels_artist(pixels))
    overlays = []
    for spec in layer["axes"]:
        ax = fig.add_axes(spec["position"])
        ax.set_xscale(spec["xscale"])
        ax.set_yscale(spec["yscale"])
        ax.set_xlim(spec["xlim"])
        ax.set_ylim(spec["ylim"])
        ax.set_axis_off()
        overlays.append(ax)
    return overlays


# --- matrix shapes (notebook 03) ---------------------------------------------------------------
def plot_matrix_shape_equations(equations, ax=None, unit=0.32, fontsize=10):
    """Draw equations between matrices as rectangles sized by their shapes, one per row.

    equations: a list of rows; each row a list of items, either a matrix
    ``(name, shape_text, rows, cols)`` drawn as a ``rows`` x ``cols`` rectangle with ``name``
    inside and ``shape_text`` (e.g. "(N, D)") under it, or a string drawn as an operator
    (e.g. "=", "@", "+", "sum over rows"). ``unit`` is the size of one cell in data units.
    Example row: ``[("dW", "(D, M)", 3, 4), "=", ("x.T", "(D, N)", 3, 5), "@",
    ("dout", "(N, M)", 5, 4)]``. Returns the axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 1.6 * len(equations)))
    colours = {}
    palette = ["#d6e6f5", "#fde3c8", "#dff0d8", "#f2dede", "#e8e0f5", "#f5f0d6"]
    y = 0.0
    right = 0.0
    for row in equations:
        height = max(item[2] for item in row if not isinstance(item, str)) * unit
        x = 0.0
        for item in row:
            if isinstance(item, str):
                width = 0.3 + (0.0 if len(item) <= 2 else 0.16 * len(item) * fontsize / 10)
                ax.text(x + width / 2, y - height / 2, item, ha="center", va="center",
                        fontsize=fontsize + (4 if len(item) <= 2 else 0))
                x += width
                continue
            name, shape_text, rows, cols = item
            base = name.replace(".T", "").lstrip("d") or name
            colour = colours.setdefault(base, palette[len(colours) % len(palette)])
            w, h = cols * unit, rows * unit
            top = y - (height - h) / 2
            ax.add_patch(Rectangle((x, top - h), w, h, fc=colour, ec="0.3", lw=1))
            ax.text(x + w / 2, top - h / 2, name, ha="center", va="center", fontsize=fontsize)
            ax.text(x + w / 2, top - h - 0.12, shape_text, ha="center", va="top",
                    fontsize=fontsize - 1, color="0.3")
            x += w + 0.15
        right = max(right, x)
        y -= height + 0.75
    ax.set_xlim(-0.1, right + 0.1)
    ax.set_ylim(y + 0.3, 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def plot_image_montage(ax, images, ncols: int, pad: int = 1, cmap: str = "gray_r",
                       row_labels=None, col_labels=None):
    """Tile images (N, H, W) into one picture on ``ax`` (one imshow: fast for many small images).

    ncols images per row, separated by ``pad`` pixels of a light grey; ink 1 shows black
    (values in [0, 1]). row_labels / col_labels: optional tick labels at the centre of each
    row / column of tiles (e.g. the shifts dy and dx). Returns the axes.
    """
    import matplotlib

    images = np.asarray(images, dtype=float)
    n, h, w = images.shape
    nrows = int(np.ceil(n / ncols))
    canvas = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        canvas[top:top + h, left:left + w] = image
    colormap = matplotlib.colormaps[cmap].with_extremes(bad="0.85")
    ax.imshow(canvas, cmap=colormap, vmin=0.0, vmax=1.0, interpolation="nearest")
    centres_x = pad + np.arange(ncols) * (w + pad) + (w - 1) / 2
    centres_y = pad + np.arange(nrows) * (h + pad) + (h - 1) / 2
    ax.set_xticks(centres_x if col_labels is not None else [])
    ax.set_yticks(centres_y if row_labels is not None else [])
    if col_labels is not None:
        ax.set_xticklabels(col_labels)
    if row_labels is not None:
        ax.set_yticklabels(row_labels)
    ax.tick_params(length=0)
    return ax
