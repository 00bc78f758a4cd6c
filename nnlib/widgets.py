"""Slider panels for self-study: controls over a matplotlib figure that redraws live.

``slider_panel(draw, controls)`` shows the controls above a figure and calls
``draw(fig, **values)`` whenever a control changes. Facts measured in a real browser shape it:

- it draws on a ``matplotlib.figure.Figure``, never through pyplot (whose post-execute hook
  could show a half-drawn figure), renders it to a PNG once and hands the bytes to an ``Image``
  widget: one binary message per update, faster in the browser than displaying the image in
  an ``Output`` widget (``clear_output`` + ``display``, base64; bench/bench_widgets.py times
  both). A picture identical to the one shown is not sent again;
- the figure keeps one Agg canvas, so every redraw renders with the same renderer and
  matplotlib's cache of text sizes (tick labels, titles) keeps working from one redraw to the
  next: a figure drawn whole each time rendered in about 90 ms instead of 120 ms (``savefig``
  of a bare ``Figure`` makes a new canvas, and renderer, every time);
- a course kernel holds about 200,000 objects (NumPy, matplotlib, scikit-learn, the
  notebook's data), and every redraw leaves a figure's worth of reference cycles behind, so
  now and then Python's full garbage collection ran inside a redraw and held it up by
  130-250 ms (measured in the kernels of notebooks 04-06; the median redraw took 30-40 ms).
  Before its first draw a panel therefore collects the garbage and freezes what is alive
  (``gc.freeze``): full collections skip those objects from then on (under 5 ms). Objects
  alive then that later become unreachable *cycles* stay in memory until ``gc.unfreeze()``;
  everything else is freed as usual.
- a FloatSlider echoes 0.1 back as 0.09999999999999999 when it first renders: changes smaller
  than a billionth of the value are ignored rather than redrawn (relative, so that a slider
  over tiny values such as a step h of 1e-10 still redraws);
- every redraw leaves a hidden marker in the readout (``DRAW_MARKER``: the redraw count, a
  digest of the PNG, when the redraw started (ms since the epoch) and how long the kernel took
  to draw, render and send it), so the browser tests know when a redraw arrived, whether it
  brought a new picture or the same one again, and where an update's time went.

The panel draws once when it is created, so an executed notebook (autograding, the self-check
command, nbconvert) shows the initial picture and runs straight through. ``draw`` should finish
well within 200 ms: precompute anything expensive outside it.
"""

from __future__ import annotations

import gc
import hashlib
import html
import io
import math
import time
from collections.abc import Callable

import ipywidgets as widgets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

TOLERANCE = 1e-9
# Long readouts wrap between words, not inside a number (JupyterLab's <pre> breaks anywhere).
READOUT_STYLE = ' style="white-space: pre-wrap; word-break: normal; overflow-wrap: normal"'
DRAW_MARKER = ('<span class="nncourse-panel-draw" data-draw="{count}" data-png="{digest}" '
               'data-start="{start:.1f}" data-ms="{ms:.1f}" hidden></span>')


def _changed(old, new) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        try:
            return abs(float(new) - float(old)) > TOLERANCE * max(abs(float(new)),
                                                              abs(float(old)))
        except (TypeError, ValueError):
            return old != new
    return old != new


def keep_full_collections_short() -> None:
    """Collect the garbage, then freeze every object alive, so that Python's full garbage
    collections skip them (see the module docstring: a full collection of a course kernel took
    130-250 ms, in the middle of a redraw)."""
    gc.collect()
    gc.freeze()


class SliderPanel(widgets.VBox):
    """Controls over a live figure. ``values`` holds the values ``draw`` was last called with.

    draw: ``draw(fig, **values)``; may return a string shown as a readout under the figure.
    controls: name -> widget (FloatSlider, IntSlider, Dropdown, Checkbox, ...); the names are
    the keyword arguments of ``draw``.
    """

    def __init__(self, draw: Callable, controls: dict, *, figsize=(8, 3.6), title: str = ""):
        self.draw_fn = draw
        self.controls = controls
        self.figure = Figure(figsize=figsize, dpi=90)
        FigureCanvasAgg(self.figure)  # one canvas and renderer for every redraw
        self.image = widgets.Image(format="png")
        self.figure_box = widgets.Box([self.image])
        self.readout = widgets.HTML()
        self.values: dict = {}
        self.last_draw_seconds = 0.0
        self.redraws = 0
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        for control in controls.values():
            control.observe(self._on_change, names="value")
            if hasattr(control, "style"):
                control.style.description_width = "initial"
            if hasattr(control, "readout") and not (control.layout.width or
                                                    control.layout.min_width):
                # A slider keeps its fixed width, so a long description squeezed its track to
                # a few pixels: widen it by the label (about 7.5 px a character).
                control.layout.min_width = f"{round(7.5 * len(control.description)) + 230}px"
        box = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__(header + [box, self.figure_box, self.readout])
        # Stable CSS hooks for the browser tests (tests/browser).
        self.add_class("nncourse-panel")
        box.add_class("nncourse-panel-controls")
        self.figure_box.add_class("nncourse-panel-figure")
        self.readout.add_class("nncourse-panel-readout")
        keep_full_collections_short()
        self.redraw()

    def current(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change) -> None:
        new = self.current()
        if any(_changed(self.values.get(k), v) for k, v in new.items()):
            self.redraw()

    def redraw(self) -> None:
        """Call ``draw`` with the controls' values and show the new figure and readout."""
        started_at = time.time()
        start = time.perf_counter()
        self.values = self.current()
        self.figure.clf()
        text = self.draw_fn(self.figure, **self.values)
        png = io.BytesIO()  # rendered once; display(fig) rendered twice (bbox_inches="tight")
        self.figure.savefig(png, format="png", pil_kwargs={"compress_level": 1})  # fast zlib
        data = png.getvalue()
        self.image.value = data  # the same bytes again send nothing
        self.redraws += 1
        self.last_draw_seconds = time.perf_counter() - start
        marker = DRAW_MARKER.format(count=self.redraws,
                                    digest=hashlib.sha256(data).hexdigest()[:16],
                                    start=1000 * started_at, ms=1000 * self.last_draw_seconds)
        self.readout.value = (f"<pre{READOUT_STYLE}>{html.escape(text)}</pre>" if text else
                              "") + marker


def slider_panel(draw: Callable, controls: dict, **kwargs) -> SliderPanel:
    """A ``SliderPanel`` (see its docstring); make it the cell's last expression to show it."""
    return SliderPanel(draw, controls, **kwargs)


def float_slider(description: str, value: float, min: float, max: float, step: float,
                 readout_format: str = ".3g") -> widgets.FloatSlider:
    """A FloatSlider that redraws while it is dragged (``continuous_update``). ``value`` is
    put on the slider's steps (see ``log_slider``)."""
    value = round(min + round((value - min) / step) * step, 12)
    return widgets.FloatSlider(value=value, min=min, max=max, step=step,
                               description=description, readout_format=readout_format,
                               continuous_update=True)


def log_slider(description: str, value: float, min_exp: float, max_exp: float,
               step: float = 0.1) -> widgets.FloatLogSlider:
    """A FloatLogSlider over 10**min_exp .. 10**max_exp, e.g. for learning rates.

    ``value`` is put on the slider's steps, 10**(min_exp + k * step), as the browser would:
    otherwise the browser sends the snapped value back and the panel redraws once more right
    after it is shown, its plot showing another value than the slider until then (0.5 on a
    0.1-step log slider: the slider read 5.01e-1 over a plot of h = 5.00e-01)."""
    value = 10 ** round(min_exp + round((math.log10(value) - min_exp) / step) * step, 12)
    return widgets.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=step,
                                  description=description, readout_format=".2e")
