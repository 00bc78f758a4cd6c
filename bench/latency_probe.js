// Injected into every JupyterLab page by bench/bench_widgets.py as `window.benchProbe`.
// It times one slider change the way a person sees it, whatever draws the plot: from the key
// press until the last change of the picture inside the output that holds the slider (an
// <img> loaded with a new picture, or a <canvas> in the page painted), once the page and the
// kernel have been quiet for a while.
window.benchProbe = (() => {
  let rec = null;

  // A canvas painted inside the armed output: ipympl draws the kernel's PNG onto one.
  const paint = (ctx) => {
    const r = rec;
    if (r && r.t0 !== null && ctx.canvas.isConnected && r.root.contains(ctx.canvas)) {
      r.lastPicture = performance.now();
      r.pictures++;
    }
  };
  for (const name of ['drawImage', 'putImageData']) {
    const original = CanvasRenderingContext2D.prototype[name];
    CanvasRenderingContext2D.prototype[name] = function (...args) {
      paint(this);
      return original.apply(this, args);
    };
  }

  function kernelIdle() {
    return [...document.querySelectorAll('.jp-StatusBar-Widget')]
      .some((e) => /\| Idle(?![a-z])/.test(e.textContent));
  }

  // The output area of the notebook's last code cell, where the panel under test is shown
  // (the first in it: an Output widget holds an output area of its own).
  function output() {
    const cells = document.querySelectorAll('.jp-Notebook .jp-CodeCell');
    return cells.length ? cells[cells.length - 1].querySelector('.jp-OutputArea') : null;
  }

  // The slider's handle, marked for Playwright to focus; and which arrow key moves it on.
  function prepare() {
    const handle = output().querySelector('.noUi-handle');
    document.querySelectorAll('[data-bench-target]').forEach((e) => e.removeAttribute('data-bench-target'));
    handle.setAttribute('data-bench-target', '1');
    const now = parseFloat(handle.getAttribute('aria-valuenow'));
    const max = parseFloat(handle.getAttribute('aria-valuemax'));
    return now >= max ? 'ArrowLeft' : 'ArrowRight';
  }

  // Shown: a slider and a picture (a loaded image or a canvas of some size).
  function ready() {
    const root = output();
    if (!root || !root.querySelector('.noUi-handle')) return false;
    const img = [...root.querySelectorAll('img')].find((i) => i.complete && i.naturalWidth > 100);
    const canvas = [...root.querySelectorAll('canvas')].find((c) => c.width > 100);
    return Boolean(img || canvas);
  }

  function arm() {
    const root = output();
    const r = { root, t0: null, lastPicture: null, pictures: 0, pending: 0, lastMutation: performance.now() };
    const seen = new WeakMap();
    const onImage = (img) => {
      if (seen.get(img) === img.src) return;
      seen.set(img, img.src);
      r.pending++;
      const done = () => {
        r.pending--;
        r.lastPicture = performance.now();
        r.pictures++;
      };
      if (img.complete && img.naturalWidth > 0) done();
      else {
        img.addEventListener('load', done, { once: true });
        img.addEventListener('error', () => { r.pending--; }, { once: true });
      }
    };
    for (const img of root.querySelectorAll('img')) seen.set(img, img.src);
    r.observer = new MutationObserver(() => {
      r.lastMutation = performance.now();
      if (r.t0 === null) return;
      for (const img of root.querySelectorAll('img')) onImage(img);
    });
    r.observer.observe(root, { childList: true, subtree: true, attributes: true, characterData: true });
    r.onKey = () => { if (r.t0 === null) r.t0 = performance.now(); };
    window.addEventListener('keydown', r.onKey, true);
    if (rec) disarm();
    rec = r;
  }

  function disarm() {
    if (!rec) return;
    rec.observer.disconnect();
    window.removeEventListener('keydown', rec.onKey, true);
    rec = null;
  }

  // The picture changed after the key press, every new image loaded, and nothing has changed
  // for quietMs while the kernel is idle (so no later redraw is on its way).
  function settled(quietMs) {
    const r = rec;
    const now = performance.now();
    if (!kernelIdle()) r.lastMutation = now;
    return r.t0 !== null && r.pictures > 0 && r.pending === 0 &&
      now - Math.max(r.lastMutation, r.lastPicture) >= quietMs;
  }

  function result() {
    const r = rec;
    return { ms: r.lastPicture - r.t0, pictures: r.pictures };
  }

  return { ready, prepare, arm, disarm, settled, result };
})();
