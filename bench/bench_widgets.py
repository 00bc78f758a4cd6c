"""Slider latency in JupyterLab: the course's slider panels against the usual ways to do it.

One plot, the course's momentum panel (notebook 04: contours of a narrow valley, 60 steps of
SGD with momentum, the loss per step on a log scale), shown behind one slider in each of these
ways, each notebook in its own kernel:

- ``nnlib panel, static layer``: ``nnlib.widgets.slider_panel`` with the axes and contours drawn
  once (``nnlib.plots.render_static_layer``), as the course's notebooks do;
- ``nnlib panel, whole figure``: ``slider_panel`` drawing everything at every change;
- ``Output + display(fig)``: an ``ipywidgets.Output`` that is cleared and shows the Figure again;
- ``interact + pyplot``: ``ipywidgets.interact`` over a function that draws with pyplot, shown
  by the inline backend (what most notebooks do);
- ``ipympl canvas``: ``%matplotlib widget`` (ipympl), the figure redrawn on its canvas.

Each notebook is opened in JupyterLab in Debian's Chromium (offline, 127.0.0.1 only, started
as in the browser tests: tests/browser/jupyterlab.py) and run; then the slider's handle gets
``--presses`` arrow key presses, each timed in the browser from the key press until the
picture last changed (a new image loaded, or the canvas painted), with the page and the
kernel quiet in between. The notebooks take turns, round by round, so that load from
elsewhere hits them alike. The course's goal: every update within 200 ms on these machines.

    make bench-widgets                             # installs ipympl, runs, writes the README
    .venv/bin/python bench/bench_widgets.py --rounds 1 --presses 5   # quick, no README
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser.jupyterlab import (  # noqa: E402 - tests/browser/jupyterlab.py
    CHROMIUM,
    CHROMIUM_ARGS,
    CONTEXT_ARGS,
    KERNEL_IDLE,
    LabPage,
    offline_context,
    start_lab,
    stop_lab,
)
from readme_table import report  # noqa: E402 - bench/readme_table.py

PROBE_JS = Path(__file__).with_name("latency_probe.js")
GOAL_MS = 200
QUIET_MS = 300

# The plot, drawn on a matplotlib Figure by draw_whole (everything) or draw_on_layer (only what
# moves, on a static layer of the rest): the valley, path and loss of notebook 04's momentum
# panel, with one path instead of two.
SCENE = '''
import numpy as np
import ipywidgets as widgets
from IPython.display import clear_output, display
from matplotlib.figure import Figure
import nnlib
from nnlib import plots

FIGSIZE, STEPS, START = (10, 3.8), 60, np.array([-4.5, 2.0])
SCALES = np.array([1.0, 20.0])


def valley(w):
    return 0.5 * (SCALES[0] * w[0] ** 2 + SCALES[1] * w[1] ** 2)


def path_of(momentum, learning_rate=0.03):
    w, config, path = START.copy(), {"learning_rate": learning_rate, "momentum": momentum}, [START]
    for _ in range(STEPS):
        w, config = nnlib.sgd_momentum(w, SCALES * w, config)
        path.append(w)
    return np.array(path)


GRID = plots.loss_surface_grid(valley, (-5, 5), (-2.5, 2.5))
LEVELS = np.geomspace(0.01, 60, 14)


def draw_background(fig):
    ax1 = fig.add_axes((0.06, 0.14, 0.52, 0.76))
    ax2 = fig.add_axes((0.68, 0.14, 0.30, 0.76))
    plots.plot_loss_contours(ax1, GRID, levels=LEVELS, minimum=(0, 0))
    ax1.set(aspect="equal", title=f"{STEPS} steps of sgd_momentum")
    ax2.set(yscale="log", xlim=(-1, STEPS + 1), ylim=(1e-8, 1e4), xlabel="step",
            ylabel="loss (log scale)", title="Loss per step")
    return ax1, ax2


def draw_moving(ax1, ax2, momentum):
    path = path_of(momentum)
    plots.plot_optimizer_paths(ax1, {f"momentum {momentum:.2f}": path}, colors=["C3"],
                               legend_loc="lower right")
    ax2.plot(np.maximum(valley(path.T), 1e-30), color="C3")


def draw_whole(fig, momentum):
    draw_moving(*draw_background(fig), momentum)


BACKGROUND = plots.render_static_layer(draw_background, FIGSIZE)


def draw_on_layer(fig, momentum):
    draw_moving(*plots.add_static_layer(fig, BACKGROUND), momentum)


def slider():
    return widgets.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01, description="momentum",
                               continuous_update=True)
'''

WAYS = {
    "nnlib panel, static layer": '''
from nnlib.widgets import slider_panel
slider_panel(draw_on_layer, {"momentum": slider()}, figsize=FIGSIZE)
''',
    "nnlib panel, whole figure": '''
from nnlib.widgets import slider_panel
slider_panel(draw_whole, {"momentum": slider()}, figsize=FIGSIZE)
''',
    "Output + display(fig)": '''
%matplotlib inline
control, out, fig = slider(), widgets.Output(), Figure(figsize=FIGSIZE, dpi=90)


def update(change=None):
    fig.clf()
    draw_whole(fig, control.value)
    with out:
        clear_output(wait=True)
        display(fig)


control.observe(update, names="value")
update()
widgets.VBox([control, out])
''',
    "interact + pyplot": '''
%matplotlib inline
import matplotlib.pyplot as plt


def show(momentum):
    fig = plt.figure(figsize=FIGSIZE, dpi=90)
    draw_whole(fig, momentum)
    plt.show()


widgets.interact(show, momentum=slider());
''',
    "ipympl canvas": '''
%matplotlib widget
import matplotlib.pyplot as plt

plt.ioff()
control, fig = slider(), plt.figure(figsize=FIGSIZE, dpi=90)
fig.canvas.header_visible = False


def update(change=None):
    fig.clf()
    draw_whole(fig, control.value)
    fig.canvas.draw_idle()


control.observe(update, names="value")
update()
widgets.VBox([control, fig.canvas])
''',
}


def has_ipympl() -> bool:
    try:
        import ipympl  # noqa: F401
    except ImportError:
        return False
    return True


def slug(way: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in way.lower()).strip("_")


def write_notebooks(ways: list[str]):
    def populate(folder: Path) -> None:
        for way in ways:
            nb = nbformat.v4.new_notebook()
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                         "language": "python"}
            nb.cells = [nbformat.v4.new_code_cell(SCENE.strip()),
                        nbformat.v4.new_code_cell(WAYS[way].strip())]
            nbformat.write(nb, folder / f"{slug(way)}.ipynb")
    return populate


def measure(lab_page: LabPage, way: str, presses: int) -> list[float]:
    """Open the notebook of ``way``, run it, time ``presses`` slider key presses (ms)."""
    nb = f"{slug(way)}.ipynb"
    lab_page.lab.start_kernel(nb)
    page = lab_page.ready()
    try:
        lab_page.open(nb)
        done = lab_page.run_all()
        if done["errors"]:
            raise RuntimeError(f"{way}: the notebook failed:\n" + "\n".join(done["errors"]))
        page.wait_for_function("() => benchProbe.ready()", timeout=60_000)
        page.locator(".jp-StatusBar-Widget").get_by_text(KERNEL_IDLE).wait_for(timeout=60_000)
        page.wait_for_timeout(1000)  # JupyterLab finishes rendering the outputs
        times = []
        for _ in range(presses):
            key = page.evaluate("() => benchProbe.prepare()")
            handle = page.locator("[data-bench-target]")
            handle.focus()
            page.evaluate("() => benchProbe.arm()")
            page.keyboard.press(key)
            page.wait_for_function(f"() => benchProbe.settled({QUIET_MS})", timeout=30_000)
            result = page.evaluate("() => benchProbe.result()")
            page.evaluate("() => benchProbe.disarm()")
            times.append(result["ms"])
        return times
    except Exception:
        shot = ROOT / "test-artifacts" / f"bench-widgets-{slug(way)}-failure.png"
        shot.parent.mkdir(exist_ok=True)
        page.screenshot(path=shot, full_page=True)
        print(f"{way}: failed; the page is in {shot.relative_to(ROOT)}")
        raise
    finally:
        lab_page.close_notebooks()
        lab_page.lab.stop_kernels(nb)


def table(results: dict[str, list[float]], rounds: int, presses: int) -> str:
    import ipywidgets
    import jupyterlab
    import matplotlib

    lines = [f"{rounds} rounds of {presses} key presses per way, the ways taking turns; "
             f"Python {platform.python_version()}, JupyterLab {jupyterlab.__version__}, "
             f"ipywidgets {ipywidgets.__version__}, matplotlib {matplotlib.__version__}, "
             f"Debian Chromium (headless); {os.cpu_count()} CPUs. Time from the key press "
             "until the picture last changed in the page, in ms; the first press of every "
             "round is left out (warm-up).", "",
             f"| way | updates | median | 90 % | max | over {GOAL_MS} ms |",
             "|---|---:|---:|---:|---:|---:|"]
    for way, ms in results.items():
        ordered = sorted(ms)
        p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
        lines.append(f"| {way} | {len(ms)} | {statistics.median(ms):.0f} | {p90:.0f} | "
                     f"{max(ms):.0f} | {sum(m > GOAL_MS for m in ms)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--presses", type=int, default=16, help="per way and round")
    parser.add_argument("--way", action="append", choices=list(WAYS),
                        help="only these ways (repeatable)")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        sys.exit(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    ways = args.way or list(WAYS)
    if "ipympl canvas" in ways and not has_ipympl():
        if args.way:
            sys.exit("ipympl is not installed: make bench-widgets installs it")
        print("ipympl is not installed: its way is left out (make bench-widgets installs it)")
        ways.remove("ipympl canvas")
    results: dict[str, list[float]] = {way: [] for way in ways}
    blocked: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-widgets-") as tmp, sync_playwright() as p:
        lab = start_lab(Path(tmp), write_notebooks(ways))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = offline_context(browser, blocked, init_scripts=[PROBE_JS],
                                      **CONTEXT_ARGS)
            lab_page = LabPage(context, lab)
            for r in range(args.rounds):
                for way in ways[r % len(ways):] + ways[:r % len(ways)]:
                    start = time.perf_counter()
                    ms = measure(lab_page, way, args.presses + 1)[1:]
                    results[way] += ms
                    print(f"round {r + 1} {way:27s} median {statistics.median(ms):5.0f} ms  "
                          f"max {max(ms):5.0f} ms  ({time.perf_counter() - start:.0f} s)",
                          flush=True)
        finally:
            browser.close()
            stop_lab(lab)
    if blocked:
        print(f"requests aborted (not to 127.0.0.1): {blocked[:10]}")
    full_run = not args.way and args.rounds >= 3 and args.presses >= 16
    report("widget-bench", table(results, args.rounds, args.presses),
           write=full_run and not args.no_readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
