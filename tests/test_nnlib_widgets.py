"""nnlib.widgets without a browser: what a panel sends to the front end on each change.

tests/browser checks the same panels as a person sees them in JupyterLab."""

from __future__ import annotations

import gc
import re
import weakref

import ipywidgets as widgets
import pytest

from nnlib.widgets import float_slider, log_slider, slider_panel

MARKER = re.compile(r'data-draw="(\d+)" data-png="([0-9a-f]{16})"')


def marker(panel):
    count, digest = MARKER.search(panel.readout.value).groups()
    return int(count), digest


def make_panel(calls):
    def draw(fig, x, label):
        calls.append((x, label))
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, x])
        ax.set_ylim(-1, 1)
        return f"x = {x} & {label} < 1"
    return slider_panel(draw, {"x": widgets.FloatSlider(value=0.5, min=-1, max=1, step=0.25),
                               "label": widgets.Dropdown(options=["a", "b"], value="a")})


def test_panel_draws_once_when_created_and_on_every_real_change():
    calls = []
    panel = make_panel(calls)
    assert calls == [(0.5, "a")]
    assert bytes(panel.image.value).startswith(b"\x89PNG")
    assert marker(panel)[0] == 1
    first_png = bytes(panel.image.value)
    panel.controls["x"].value = 0.75
    assert calls[-1] == (0.75, "a") and marker(panel)[0] == 2
    assert bytes(panel.image.value) != first_png
    panel.controls["x"].value = 0.75 + 1e-12      # the browser's float echo: no redraw
    assert len(calls) == 2


def test_same_picture_is_marked_as_such_and_readout_text_is_escaped():
    calls = []
    panel = make_panel(calls)
    count, digest = marker(panel)
    panel.controls["label"].value = "b"           # the label is only in the readout
    new_count, new_digest = marker(panel)
    assert (new_count, new_digest) == (count + 1, digest)
    assert "x = 0.5 &amp; b &lt; 1" in panel.readout.value


@pytest.mark.parametrize("value, expected", [(0.5, 10 ** -0.3), (1e-3, 1e-3)])
def test_log_slider_starts_on_its_steps(value, expected):
    slider = log_slider("lr", value, -4, 0, 0.1)
    assert slider.value == pytest.approx(expected, rel=1e-12)


def test_float_slider_starts_on_its_steps():
    assert float_slider("p", 0.33, 0.05, 1.05, 0.05).value == pytest.approx(0.35)


class Node:
    pass


def test_a_panel_freezes_what_is_alive_so_full_collections_skip_it():
    gc.unfreeze()
    ballast = [[i] for i in range(100_000)]     # long-lived objects, as in a course kernel
    cycle = Node()
    cycle.me = cycle                            # garbage only the cyclic collector frees
    gone = weakref.ref(cycle)
    del cycle
    make_panel([])
    try:
        assert gc.get_freeze_count() >= len(ballast)
        tracked = {id(o) for o in gc.get_objects()}  # what collections still look at
        assert id(ballast) not in tracked and id(ballast[0]) not in tracked
        assert gone() is None, "the garbage was frozen instead of collected first"
    finally:
        gc.unfreeze()


def test_every_redraw_renders_with_the_same_canvas_and_renderer():
    """(So matplotlib's cache of text sizes works from one redraw to the next.)"""
    panel = make_panel([])
    canvas = panel.figure.canvas
    renderer = canvas.get_renderer()
    panel.controls["x"].value = 0.75
    assert panel.figure.canvas is canvas and canvas.get_renderer() is renderer


def test_tiny_values_redraw_while_float_echoes_do_not():
    """A browser echoing 0.1 as 0.09999999999999999 redraws nothing; 1e-10 -> 2e-10 does."""
    from nnlib.widgets import _changed

    assert not _changed(0.1, 0.09999999999999999)
    assert _changed(1e-10, 2e-10)
    assert _changed(0.0, 1e-12)
