"""Every slider panel of the course, used in JupyterLab in Chromium the way a student uses it.

For each solution notebook that creates slider panels (found anew on every run): open it, wait
for the kernel, Run > Run All Cells, then in every panel move every control with real input
(arrow keys on a focused slider handle; a click to open a dropdown, then the arrow keys and
Enter in its list; clicks on checkboxes and buttons) and check what a person sees: the control's
own readout, the text under the plot, and the plot's pixels (drawn onto a canvas: not blank,
not half drawn, different after the change). Each update is timed in the browser from the
input event until the redraw is complete: its marker in the readout arrived and the new plot
image is in the DOM and loaded, or the kernel drew the same picture again (limit LIMIT_MS, goal
GOAL_MS: see conftest.py; the table goes to test-artifacts/widget-latency.txt), TIMED_UPDATES
times per control, and split by the redraw's marker into the way to the kernel, the kernel's own
draw and the way back to the page. Screenshots of every panel before any change and after each
control go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .conftest import (
    LATENCY_FILE,
    LIMIT_MS,
    Update,
    panel_calls,
    panel_notebooks,
    write_latency_table,
)
from .jupyterlab import KERNEL_IDLE

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PANEL_NOTEBOOKS = panel_notebooks()
MAX_MOVES = 3           # slider steps tried until the plot and readout visibly change
TIMED_UPDATES = 5       # updates timed per control (more steps once it visibly changed)
QUIET_MS = 250          # an update is finished when nothing changed for this long
CALM_MS = 200           # ... and before each input, the page and kernel rest this long
UPDATE_TIMEOUT_MS = 15_000
MIN_TRACK_PX = 100      # a slider track narrower than this cannot be dragged by a person

# What a drawn plot looks like, as fractions of the image's pixels: ink (not white), dark, ink
# in each quarter, and the inked part's width and height. The course's plots measured 2.7-8 %
# ink, 1.6-2.9 % dark, at least 0.8 % ink per quarter and spans of 69-97 %; a blank plot, or
# one with an axes missing, falls below.
MIN_INK, MIN_DARK, MIN_QUADRANT_INK, MIN_INK_SPAN = 0.01, 0.003, 0.002, 0.5


def test_the_course_has_slider_panels():
    assert PANEL_NOTEBOOKS, "no solution notebook calls slider_panel(: nothing to test"


def slug(text: str) -> str:
    return re.sub(r"\W+", "-", text.lower()).strip("-")[:40] or "control"


def picture_problems(stats: dict, where: str) -> list[str]:
    """Why this snapshot of a panel's plot is not what a student should see (or [])."""
    if stats.get("images") != 1:
        return [f"{where}: {stats.get('images')} plot images in the panel instead of 1"]
    if not stats.get("loaded"):
        return [f"{where}: the plot image did not load"]
    problems = []
    if stats["width"] < 200 or stats["height"] < 120:
        problems.append(f"{where}: the plot is only {stats['width']}x{stats['height']} px")
    if stats["ink"] < MIN_INK or stats["dark"] < MIN_DARK:
        problems.append(f"{where}: the plot is (nearly) blank: {stats['ink']:.1%} ink, "
                        f"{stats['dark']:.2%} dark pixels")
    elif min(stats["quadrants"]) < MIN_QUADRANT_INK or min(stats["inkBox"]) < MIN_INK_SPAN:
        problems.append(f"{where}: the plot looks half drawn: ink per quarter "
                        f"{[round(q, 4) for q in stats['quadrants']]}, "
                        f"drawn part {stats['inkBox'][0]:.0%} x {stats['inkBox'][1]:.0%}")
    return problems


class PanelDriver:
    """Moves the controls of one notebook's panels and checks and records what happens."""

    def __init__(self, page, nb_id: str, shots, latency_log: list):
        self.page, self.nb_id, self.shots, self.latency_log = page, nb_id, shots, latency_log
        self.problems: list[str] = []
        self.moves = 0

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)

    def snap(self, i: int, name: str, where: str) -> dict:
        stats = self.js("([i, name]) => nnProbe.snap(i, name)", [i, name])
        self.problems += picture_problems(stats, where)
        return stats

    def exercise(self, i: int) -> None:
        page = self.page
        panel = page.locator(".nncourse-panel").nth(i)
        page.wait_for_function("i => nnProbe.ready(i)", arg=i, timeout=30_000)
        info = self.js("i => nnProbe.describe(i)", i)
        title = info["title"] or f"panel {i}"
        name = f"{self.nb_id} panel {i} ({title!r})"
        panel.scroll_into_view_if_needed()
        self.js(f"() => nnProbe.quiet({CALM_MS}, 20000)")
        if self.js("i => nnProbe.unprompted(i)", i):
            self.problems.append(
                f"{name}: redrew by itself after it was shown, before anyone touched it "
                "(typically a slider whose value is off its step grid: the browser snaps it and "
                "sends it back, and the plot first shows another value than the slider)")
        panel.screenshot(path=self.shots / f"{self.nb_id}-panel{i}-before.png")
        self.snap(i, f"{i}-start", f"{name} before any change")
        if not info["controls"]:
            self.problems.append(f"{name}: no controls found")
        for j, control in enumerate(info["controls"]):
            where = f"{name}, control {control['label']!r}"
            if control["kind"] == "unknown":
                self.problems.append(f"{where}: unknown kind of control, the test cannot move "
                                     "it (teach tests/browser/probe.js about it)")
                continue
            if control["trackWidth"] is not None and control["trackWidth"] < MIN_TRACK_PX:
                self.problems.append(f"{where}: the slider track is only "
                                     f"{control['trackWidth']:.0f} px wide")
            for handle in range(max(1, control["handles"])):
                self.move(i, j, handle, control["kind"], title, control["label"], where)
            panel.screenshot(path=self.shots /
                             f"{self.nb_id}-panel{i}-{j + 1}-{slug(control['label'])}.png")
        panel.screenshot(path=self.shots / f"{self.nb_id}-panel{i}-after.png")

    def act(self, target, how: dict, i: int) -> str:
        """Make the input `how` says on `target`, timing from its first event; its name."""
        page = self.page
        if how["action"] == "key":      # slider handle: focus it, press an arrow key
            target.focus()
            self.js("i => nnProbe.arm(i)", i)
            page.keyboard.press(how["key"])
            return how["key"]
        if how["action"] == "open-key":  # dropdown: click it open, pick with the keyboard
            self.js("i => nnProbe.arm(i, ['input', 'change'])", i)
            target.click()
            page.keyboard.press(how["key"])
            page.keyboard.press("Enter")
            return f"open+{how['key']}"
        if how["action"] == "select-option":  # list box: choose an option
            self.js("i => nnProbe.arm(i, ['input', 'change'])", i)
            target.select_option(how["value"])
            return "select"
        if how["action"] == "click":
            self.js("i => nnProbe.arm(i)", i)
            target.click()
            return "click"
        raise AssertionError(f"cannot {how}")

    def step(self, i: int, j: int, handle: int, jump: bool, title: str, label: str,
             where: str):
        """One input on control j of panel i, timed; (action, state before, state after), or
        None (and a problem) if no new plot came."""
        self.js(f"() => nnProbe.quiet({CALM_MS}, 10000)")  # nothing else on its way
        before = self.js("i => nnProbe.state(i)", i)
        how = self.js("([i, j, h, jump]) => nnProbe.prepareMove(i, j, h, jump)",
                      [i, j, handle, jump])
        action = self.act(self.page.locator("[data-nn-target]"), how, i)
        try:
            self.page.wait_for_function(f"() => nnProbe.settled({QUIET_MS})",
                                        timeout=UPDATE_TIMEOUT_MS)
        except PlaywrightTimeout:
            state = self.js("i => nnProbe.state(i)", i)
            self.js("() => nnProbe.disarm()")
            self.problems.append(
                f"{where}: no new plot within {UPDATE_TIMEOUT_MS / 1000:.0f} s after {action} "
                f"(value {before['values'][j]!r} -> {state['values'][j]!r}; an error in the "
                "draw function shows in JupyterLab's log console)")
            return None
        result = self.js("() => nnProbe.result()")
        self.js("() => nnProbe.disarm()")
        self.moves += 1
        self.latency_log.append(Update(self.nb_id, i, title, label, action, result["imageMs"],
                                       result["readoutMs"], result["redraws"],
                                       result["samePicture"], result["toKernelMs"],
                                       result["kernelMs"], result["fromKernelMs"]))
        return action, before, self.js("i => nnProbe.state(i)", i)

    def move(self, i: int, j: int, handle: int, kind: str, title: str, label: str,
             where: str) -> None:
        """Move control j of panel i until its value, the readout under the plot and the plot
        itself changed, timing every update: one click for a checkbox or toggle button, up to
        MAX_MOVES steps to the next option otherwise, and for a slider then a jump to its other
        end (Home/End: more steps may not show, e.g. on a converged path). Then more steps
        until TIMED_UPDATES updates of this control were timed, every plot checked."""
        first_update = len(self.latency_log)
        start_state = self.js("i => nnProbe.state(i)", i)
        start_image = f"{i}-{j}-{handle}-start"
        self.js("([i, name]) => nnProbe.snap(i, name)", [i, start_image])
        if kind in ("checkbox", "toggle-button"):
            plan = [False]
        else:
            plan = [False] * MAX_MOVES + ([True] if kind == "slider" else [])
        actions, changed = [], None
        for attempt, jump in enumerate(plan, 1):
            done = self.step(i, j, handle, jump, title, label, where)
            if done is None:
                return
            action, before, after = done
            actions.append(action)
            image = f"{i}-{j}-{handle}-{attempt}"
            self.snap(i, image, f"{where} after {action} #{attempt}")
            if after["values"][j] == before["values"][j]:
                self.problems.append(f"{where}: its shown value stayed "
                                     f"{after['values'][j]!r} after {action}")
                return
            readout_same = bool(start_state["readout"]) and \
                after["readout"] == start_state["readout"]
            if not readout_same and self.js("([a, b]) => nnProbe.diff(a, b)",
                                            [start_image, image]):
                changed = True
                break
        if not changed:
            self.problems.append(
                f"{where}: after {', '.join(actions)} (value {start_state['values'][j]!r} -> "
                f"{after['values'][j]!r}) " +
                ("the text under the plot did not change" if readout_same else
                 "the plot did not change"))
        while changed and len(self.latency_log) - first_update < TIMED_UPDATES:  # time more
            done = self.step(i, j, handle, False, title, label, where)
            if done is None:
                return
            attempt += 1
            self.snap(i, f"{i}-{j}-{handle}-{attempt}", f"{where} after {done[0]} #{attempt}")
        # Over the time limit: measure once more, so that a moment when the machine was busy
        # elsewhere does not fail the test, but a panel that is slow every time does.
        slow = [u for u in self.latency_log[first_update:] if u.image_ms > LIMIT_MS]
        if slow:
            again = self.step(i, j, handle, False, title, label, where)
            if again is not None and self.latency_log[-1].image_ms > LIMIT_MS:
                self.problems.append(
                    f"{where}: the plot took {slow[0].image_ms:.0f} ms and, measured again, "
                    f"{self.latency_log[-1].image_ms:.0f} ms to update after {slow[0].action} "
                    f"(limit {LIMIT_MS} ms)")


@pytest.mark.parametrize("nb_id", PANEL_NOTEBOOKS)
def test_every_panel_responds_to_every_control(nb_id, lab, lab_page, latency_log, artifacts,
                                               blocked_requests):
    nb_rel = f"{nb_id}/{nb_id}.ipynb"
    expected = panel_calls(lab.root / nb_rel)
    shots = artifacts / "screenshots"
    shots.mkdir(exist_ok=True)
    for old in shots.glob(f"{nb_id}-*.png"):
        old.unlink()
    phases = {}
    t = time.perf_counter()
    lab.start_kernel(nb_rel)  # boots while JupyterLab loads; the notebook connects to it
    page = lab_page.ready()
    driver = PanelDriver(page, nb_id, shots, latency_log)
    try:
        lab_page.open(nb_rel)
        phases["open + kernel idle"] = time.perf_counter() - t
        t = time.perf_counter()
        done = lab_page.run_all()
        phases["run all"] = time.perf_counter() - t
        assert not done["errors"], f"{nb_id}: Run All Cells failed:\n" + \
            "\n\n".join(done["errors"])
        t = time.perf_counter()
        try:  # widget views render a moment after their output arrives
            page.wait_for_function("n => nnProbe.count() >= n", arg=max(expected, 1),
                                   timeout=30_000)
        except PlaywrightTimeout:
            pass
        page.locator(".jp-StatusBar-Widget").get_by_text(KERNEL_IDLE).wait_for(timeout=60_000)
        phases["settle"] = page.evaluate("() => nnProbe.quiet(500, 20000)") / 1000
        found = page.evaluate("() => nnProbe.count()")
        assert found >= max(expected, 1), (
            f"{nb_id}: {expected} slider_panel( calls in the code but {found} panels on the "
            "page (each panel must be shown: make it a cell's last expression)")
        for i in range(found):
            driver.exercise(i)
        phases["panels"] = time.perf_counter() - t
    except Exception:
        page.screenshot(path=shots / f"{nb_id}-failure.png")
        raise
    finally:
        lab_page.close_notebooks()
        lab.stop_kernels(nb_rel)
        if latency_log:
            write_latency_table(latency_log)
    print(f"{nb_id}: {found} panels, {driver.moves} updates; " +
          ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()) + f"; see {LATENCY_FILE}")
    if blocked_requests:
        print(f"requests aborted so far (not to 127.0.0.1): {blocked_requests[:10]}")
    assert not driver.problems, "\n".join(driver.problems)
