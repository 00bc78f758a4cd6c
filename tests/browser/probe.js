// Helpers the browser tests inject into every JupyterLab page as `window.nnProbe`.
// They only look (DOM, pixels, timings) and mark elements; every input a student makes
// (key presses, clicks) comes from Playwright, as real browser input events.
window.nnProbe = (() => {
  const images = new Map();  // label -> {w, h, data} of a plot image drawn onto a canvas
  let rec = null;            // the measurement armed by arm()

  const CONTROL_SELECTOR = [
    '.widget-slider', '.widget-hslider', '.widget-vslider', '.widget-checkbox',
    '.widget-toggle-button', '.widget-toggle-buttons', '.widget-dropdown', '.widget-radio',
    '.widget-select',
  ].join(',');

  // Every plot a panel's figure area showed, and whether a person had touched the panel yet:
  // a panel that redraws on its own after it is shown (e.g. because the browser snapped a
  // slider's value to its step grid and sent it back) is counted in `unprompted`.
  const shown = new WeakMap();  // figure element -> {last: src, count, unprompted, touched}
  function track() {
    for (const fig of document.querySelectorAll('.nncourse-panel-figure')) {
      const h = shown.get(fig) || { last: null, count: 0, unprompted: 0, touched: false };
      shown.set(fig, h);
      for (const img of fig.querySelectorAll('img')) {
        if (img.src === h.last) continue;
        h.last = img.src;
        h.count++;
        if (h.count > 1 && !h.touched) h.unprompted++;
      }
    }
  }
  function touch(event) {
    const p = event.target && event.target.closest ? event.target.closest('.nncourse-panel') : null;
    const fig = p && p.querySelector('.nncourse-panel-figure');
    if (fig && shown.has(fig)) shown.get(fig).touched = true;
  }
  for (const type of ['keydown', 'pointerdown', 'input', 'change']) window.addEventListener(type, touch, true);
  const startTracking = () => new MutationObserver(track).observe(
    document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['src'] });
  if (document.body) startTracking(); else document.addEventListener('DOMContentLoaded', startTracking);

  function unprompted(i) {
    const h = shown.get(panel(i).querySelector('.nncourse-panel-figure'));
    return h ? h.unprompted : 0;
  }

  function panel(i) {
    const p = document.querySelectorAll('.nncourse-panel')[i];
    if (!p) throw new Error(`no panel ${i}`);
    return p;
  }

  // The controls of a panel, in order: the known widgets inside its controls box (not the
  // parts of another control), plus any child of the box that holds no known widget.
  function controls(p) {
    const box = p.querySelector('.nncourse-panel-controls');
    if (!box) return [];
    const known = [...box.querySelectorAll(CONTROL_SELECTOR)];
    const found = known.filter((el) => !known.some((o) => o !== el && o.contains(el)));
    for (const child of box.children) {
      if (!found.some((el) => child === el || child.contains(el))) found.push(child);
    }
    return found.sort((a, b) => (a.compareDocumentPosition(b) & 4 ? -1 : 1));
  }

  function kind(el) {
    const c = el.classList;
    if (el.querySelector('.noUi-handle')) return 'slider';
    if (c.contains('widget-checkbox')) return 'checkbox';
    if (c.contains('widget-toggle-buttons')) return 'toggle-buttons';
    if (c.contains('widget-toggle-button')) return 'toggle-button';
    if (c.contains('widget-dropdown')) return 'dropdown';
    if (c.contains('widget-radio')) return 'radio';
    if (c.contains('widget-select')) return 'select';
    return 'unknown';
  }

  function text(el) {
    return el ? el.textContent.replace(/[\s\u200b]+/g, ' ').trim() : '';
  }

  // The hidden marker nnlib.widgets leaves in a panel's readout at every redraw: the redraw
  // count, the PNG's digest, when the kernel started it (ms since the epoch, the same clock as
  // performance.timeOrigin + performance.now()) and how long the kernel took.
  function drawMarker(ro) {
    const m = ro && ro.querySelector('.nncourse-panel-draw');
    return m ? { count: Number(m.dataset.draw), digest: m.dataset.png,
                 start: Number(m.dataset.start), ms: Number(m.dataset.ms) } : null;
  }

  function label(el) {
    return text(el.querySelector('.widget-label')) || text(el.querySelector('label')) ||
      text(el) || el.className;
  }

  // What a person sees of a control's value.
  function value(el) {
    switch (kind(el)) {
      case 'slider':
        return text(el.querySelector('.widget-readout'));
      case 'checkbox':
        return String(el.querySelector('input[type=checkbox]').checked);
      case 'toggle-button':
        return String(el.classList.contains('mod-active'));
      case 'toggle-buttons':
        return text(el.querySelector('.mod-active'));
      case 'dropdown':
      case 'select': {
        const s = el.querySelector('select');
        return s.selectedIndex >= 0 ? s.options[s.selectedIndex].text : '';
      }
      case 'radio': {
        const r = el.querySelector('input[type=radio]:checked');
        return r ? text(r.closest('label')) || r.value : '';
      }
      default:
        return text(el);
    }
  }

  function describe(i) {
    const p = panel(i);
    const header = p.querySelector(':scope > .widget-html:not(.nncourse-panel-readout)');
    return {
      title: text(header),
      controls: controls(p).map((el) => {
        const track = el.querySelector('.noUi-target');
        return {
          kind: kind(el),
          label: label(el),
          value: value(el),
          handles: el.querySelectorAll('.noUi-handle').length,
          trackWidth: track ? track.getBoundingClientRect().width : null,
        };
      }),
    };
  }

  // Panel i shows exactly one plot image, loaded.
  function ready(i) {
    const imgs = panel(i).querySelectorAll('.nncourse-panel-figure img');
    return imgs.length === 1 && imgs[0].complete && imgs[0].naturalWidth > 0;
  }

  function state(i) {
    const p = panel(i);
    return {
      readout: text(p.querySelector('.nncourse-panel-readout')),
      values: controls(p).map(value),
      images: p.querySelectorAll('.nncourse-panel-figure img').length,
    };
  }

  // Mark the element Playwright should act on to move control j of panel i one step (or, for
  // a slider with `jump`, to its other end: Home/End), and say how: {action: 'key', key}
  // (focus the marked element, press key) or {action: 'click'}.
  function prepareMove(i, j, handle, jump) {
    document.querySelectorAll('[data-nn-target]').forEach((e) => e.removeAttribute('data-nn-target'));
    const el = controls(panel(i))[j];
    const mark = (e) => { e.setAttribute('data-nn-target', '1'); };
    switch (kind(el)) {
      case 'slider': {
        const h = el.querySelectorAll('.noUi-handle')[handle || 0];
        mark(h);
        const now = parseFloat(h.getAttribute('aria-valuenow'));
        const max = parseFloat(h.getAttribute('aria-valuemax'));
        const min = parseFloat(h.getAttribute('aria-valuemin'));
        if (jump) return { action: 'key', key: now > min ? 'Home' : 'End' };
        const up = !(now >= max);
        const vertical = h.getAttribute('aria-orientation') === 'vertical';
        return { action: 'key', key: vertical ? (up ? 'ArrowUp' : 'ArrowDown') : (up ? 'ArrowRight' : 'ArrowLeft') };
      }
      case 'checkbox':
        mark(el.querySelector('input[type=checkbox]'));
        return { action: 'click' };
      case 'toggle-button':
        mark(el);
        return { action: 'click' };
      case 'toggle-buttons': {
        const buttons = [...el.querySelectorAll('button')];
        const active = buttons.findIndex((b) => b.classList.contains('mod-active'));
        mark(buttons[(active + 1) % buttons.length]);
        return { action: 'click' };
      }
      case 'radio': {
        const inputs = [...el.querySelectorAll('input[type=radio]')];
        const checked = inputs.findIndex((r) => r.checked);
        mark(inputs[(checked + 1) % inputs.length]);
        return { action: 'click' };
      }
      case 'dropdown': {
        // Click to open its list, then choose with the keyboard in the list. (On a closed,
        // focused dropdown JupyterLab takes the arrow keys to move between cells.)
        const s = el.querySelector('select');
        mark(s);
        const down = s.selectedIndex < s.options.length - 1;
        return { action: 'open-key', key: down ? 'ArrowDown' : 'ArrowUp' };
      }
      case 'select': {
        const s = el.querySelector('select');
        mark(s);
        const next = s.options[(s.selectedIndex + 1) % s.options.length];
        return { action: 'select-option', value: next.value };
      }
      default:
        return { action: 'unknown' };
    }
  }

  // Start timing: the next event of a type in `startOn` (by default the first key press or
  // pointer press) is t0; every plot image that appears in panel i's figure area after that
  // is timed when it is in the DOM and loaded.
  function arm(i, startOn) {
    const types = startOn || ['keydown', 'pointerdown', 'mousedown'];
    disarm();
    const p = panel(i);
    const fig = p.querySelector('.nncourse-panel-figure');
    const ro = p.querySelector('.nncourse-panel-readout');
    const old = new Map([...fig.querySelectorAll('img')].map((img) => [img, img.src]));
    const r = { t0: null, images: [], readoutAt: null, lastMutation: performance.now(),
                ro, draw0: drawMarker(ro), draw: null, drawAt: null };
    const onInput = () => { if (r.t0 === null) r.t0 = performance.now(); };
    const seen = new Map();  // img -> src already counted
    const scan = () => {
      r.lastMutation = performance.now();
      for (const img of fig.querySelectorAll('img')) {
        if (old.get(img) === img.src || seen.get(img) === img.src) continue;
        seen.set(img, img.src);
        const entry = { added: performance.now(), loaded: null };
        r.images.push(entry);
        const done = () => { if (entry.loaded === null) entry.loaded = performance.now(); };
        if (img.complete && img.naturalWidth > 0) done();
        else {
          img.addEventListener('load', done, { once: true });
          if (img.decode) img.decode().then(done, () => {});
        }
      }
    };
    const figObserver = new MutationObserver(scan);
    figObserver.observe(fig, { childList: true, subtree: true, attributes: true, attributeFilter: ['src'] });
    const roObserver = new MutationObserver(() => {
      r.lastMutation = performance.now();
      if (r.readoutAt === null && text(ro) !== r.readout0) r.readoutAt = performance.now();
      const d = drawMarker(ro);
      if (d && (!r.draw0 || d.count !== r.draw0.count)) {
        if (r.drawAt === null) r.drawAt = performance.now();
        r.draw = d;
      }
    });
    r.readout0 = text(ro);
    roObserver.observe(ro, { childList: true, subtree: true, characterData: true });
    for (const type of types) window.addEventListener(type, onInput, true);
    r.stop = () => {
      figObserver.disconnect();
      roObserver.disconnect();
      for (const type of types) window.removeEventListener(type, onInput, true);
    };
    rec = r;
  }

  function disarm() {
    if (rec) rec.stop();
  }

  // True once a new image was loaded after the input and nothing changed for `quietMs`.
  function kernelIdle() {
    return [...document.querySelectorAll('.jp-StatusBar-Widget')]
      .some((e) => /\| Idle(?![a-z])/.test(e.textContent));
  }

  // True once a new image was loaded after the input, nothing changed for `quietMs` and the
  // kernel is idle (so no later redraw is still on its way).
  // A redraw is complete when its marker reached the readout and, unless the kernel drew the
  // very picture already shown (same PNG digest, so no image was sent), a new image loaded.
  function samePicture(r) {
    return r.draw !== null && r.draw0 !== null && r.draw.digest === r.draw0.digest;
  }
  function settled(quietMs) {
    const r = rec;
    return r !== null && r.t0 !== null && r.draw !== null && kernelIdle() &&
      (r.images.length > 0 || samePicture(r)) && r.images.every((e) => e.loaded !== null) &&
      performance.now() - r.lastMutation >= quietMs;
  }

  // imageMs: input -> the redraw complete (new image loaded, or its marker if the picture is
  // the same); readoutMs: input -> the readout's text changed; redraws: the kernel's redraws.
  // Where the time went, by the last redraw's marker: toKernelMs, input -> the kernel began
  // drawing (the browser sends the change, the server passes it on, the kernel takes it);
  // kernelMs, drawing, rendering and sending the picture; fromKernelMs, the rest (the server
  // passes the messages on, the browser decodes the image and lays the page out).
  function result() {
    const r = rec;
    const first = r.images.find((e) => e.loaded !== null);
    let doneAt = null;
    if (first && r.drawAt !== null) doneAt = Math.max(first.loaded, r.drawAt);
    else if (samePicture(r)) doneAt = r.drawAt;
    const startedAt = r.draw ? r.draw.start - performance.timeOrigin : null;
    const split = doneAt !== null && r.t0 !== null && startedAt !== null;
    return {
      inputSeen: r.t0 !== null,
      toKernelMs: split ? startedAt - r.t0 : null,
      kernelMs: r.draw ? r.draw.ms : null,
      fromKernelMs: split ? doneAt - (startedAt + r.draw.ms) : null,
      imageMs: doneAt !== null && r.t0 !== null ? doneAt - r.t0 : null,
      readoutMs: r.readoutAt !== null && r.t0 !== null ? r.readoutAt - r.t0 : null,
      redraws: r.draw && r.draw0 ? r.draw.count - r.draw0.count : (r.draw ? 1 : 0),
      samePicture: samePicture(r),
    };
  }

  // Draw panel i's plot image onto a canvas, keep its pixels under `name`, and measure them:
  // ink = not (near) white, dark = dark grey/black, colour = clearly coloured; per quadrant too.
  function snap(i, name) {
    const imgs = [...panel(i).querySelectorAll('.nncourse-panel-figure img')];
    if (imgs.length !== 1) return { images: imgs.length };
    const img = imgs[0];
    if (!img.complete || img.naturalWidth === 0) return { images: 1, loaded: false };
    const w = img.naturalWidth;
    const h = img.naturalHeight;
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, w, h);
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, w, h).data;
    images.set(name, { w, h, data });
    let ink = 0; let dark = 0; let colour = 0;
    const quad = [0, 0, 0, 0];
    let x0 = w; let y0 = h; let x1 = -1; let y1 = -1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const k = 4 * (y * w + x);
        const r = data[k]; const g = data[k + 1]; const b = data[k + 2];
        const hi = Math.max(r, g, b); const lo = Math.min(r, g, b);
        if (lo > 235) continue;
        ink++;
        quad[(y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)]++;
        if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
        if (0.299 * r + 0.587 * g + 0.114 * b < 100) dark++;
        if (hi - lo > 60) colour++;
      }
    }
    const n = w * h;
    return {
      images: 1, loaded: true, width: w, height: h,
      displayedWidth: img.getBoundingClientRect().width,
      ink: ink / n, dark: dark / n, colour: colour / n,
      quadrants: quad.map((q) => q / (n / 4)),
      inkBox: x1 < 0 ? [0, 0] : [(x1 - x0 + 1) / w, (y1 - y0 + 1) / h],
    };
  }

  // Fraction of pixels that differ (any channel by more than 24) between two snapped images.
  function diff(a, b) {
    const A = images.get(a); const B = images.get(b);
    if (!A || !B) return null;
    if (A.w !== B.w || A.h !== B.h) return 1;
    let changed = 0;
    for (let k = 0; k < A.data.length; k += 4) {
      if (Math.abs(A.data[k] - B.data[k]) > 24 || Math.abs(A.data[k + 1] - B.data[k + 1]) > 24 ||
          Math.abs(A.data[k + 2] - B.data[k + 2]) > 24) changed++;
    }
    return changed / (A.w * A.h);
  }

  // Resolves once nothing in the page changed for `ms` and the main thread is idle (after
  // Run All, JupyterLab still renders outputs and typesets maths for a while), or after maxMs.
  // (The kernel must read Idle in the status bar all that time too.)
  function quiet(ms, maxMs) {
    return new Promise((resolve) => {
      const start = performance.now();
      let last = start;
      const observer = new MutationObserver(() => { last = performance.now(); });
      observer.observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
      const check = () => {
        const now = performance.now();
        if (!kernelIdle()) last = now;
        if (now - last >= ms || now - start >= maxMs) {
          observer.disconnect();
          requestIdleCallback(() => resolve(now - start), { timeout: 2000 });
        } else setTimeout(check, 50);
      };
      check();
    });
  }

  return { describe, quiet, unprompted, ready, state, prepareMove, arm, disarm, settled, result, snap, diff,
    count: () => document.querySelectorAll('.nncourse-panel').length };
})();
