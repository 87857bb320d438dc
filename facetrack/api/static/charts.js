// Charts as inline SVG, drawn at the width of their box (so text stays 12 px on a phone and on a
// laptop) and redrawn when that width changes. Colours come from app.css classes.

const NS = 'http://www.w3.org/2000/svg';
const M = { top: 12, right: 14, bottom: 30, left: 46 };

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Round ``max`` up to a number that makes ``n`` even ticks (1, 2, 5 times a power of 10). */
function niceTicks(max, n = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / n;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((x) => x >= raw);
  const ticks = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(+v.toFixed(10));
  return ticks;
}

function fmtTick(v) {
  if (v >= 10000) return `${Math.round(v / 1000)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

const hms = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit',
  second: '2-digit' });
const hm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dm = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const SEC = 1000;
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
  43200, 86400, 172800, 604800].map((n) => n * SEC);

/** Round times between x0 and x1 (ms), at most ``most`` of them, and how to write them. */
function timeTicks(x0, x1, most) {
  const offset = new Date(x0).getTimezoneOffset() * 60 * SEC; // round in local time
  const at = (step) => {
    const out = [];
    for (let t = Math.ceil((x0 - offset) / step) * step + offset; t <= x1; t += step) out.push(t);
    return out;
  };
  let i = STEPS.findIndex((st) => (x1 - x0) / st <= most);
  if (i < 0) i = STEPS.length - 1;
  let ticks = at(STEPS[i]);
  if (ticks.length < 2 && i > 0) ticks = at(STEPS[--i]); // at least two labels on the axis
  const step = STEPS[i];
  return { ticks, fmt: step < 60 * SEC ? hms : step < 86400 * SEC ? hm : dm };
}
const full = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short',
  hour: '2-digit', minute: '2-digit', second: '2-digit' });

function yAxis(svg, ticks, y, width, unit) {
  for (const t of ticks) {
    svg.append(s('line', { class: 'grid', x1: M.left, x2: width - M.right, y1: y(t), y2: y(t) }),
      s('text', { class: 'tick', x: M.left - 6, y: y(t) + 4, 'text-anchor': 'end' },
        fmtTick(t)));
  }
  if (unit) svg.append(s('text', { class: 'tick unit', x: 4, y: M.top + 2 }, unit));
}

/**
 * A time series chart. ``series``: [{name, cls, points: [[time_ms, value], ...]}].
 * Lines join the points (each window's value), dots mark them, each with a tooltip.
 */
function drawLines(width, height, { series, unit, format = fmtTick }) {
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    class: 'chart-svg' });
  const all = series.flatMap((sr) => sr.points);
  if (!all.length) return svg;
  let x0 = Math.min(...all.map((p) => p[0]));
  let x1 = Math.max(...all.map((p) => p[0]));
  if (x1 === x0) {
    x0 -= 30000;
    x1 += 30000;
  }
  const ticks = niceTicks(Math.max(...all.map((p) => p[1])));
  const yMax = ticks[ticks.length - 1] || 1;
  const x = (t) => M.left + ((t - x0) / (x1 - x0)) * (width - M.left - M.right);
  const y = (v) => height - M.bottom - (v / yMax) * (height - M.top - M.bottom);
  yAxis(svg, ticks, y, width, unit);
  const most = Math.max(2, Math.min(7, Math.floor((width - M.left - M.right) / 80)));
  const { ticks: times, fmt } = timeTicks(x0, x1, most);
  for (const t of times) {
    svg.append(s('line', { class: 'tick-mark', x1: x(t), x2: x(t), y1: height - M.bottom,
      y2: height - M.bottom + 4 }),
    s('text', { class: 'tick', x: x(t), y: height - 10, 'text-anchor': x(t) < M.left + 30
      ? 'start' : x(t) > width - M.right - 30 ? 'end' : 'middle' }, fmt.format(new Date(t))));
  }
  svg.append(s('line', { class: 'axis', x1: M.left, x2: width - M.right,
    y1: height - M.bottom, y2: height - M.bottom }));
  const room = (width - M.left - M.right) / 8; // a dot per 8 px at most, else just lines
  for (const sr of series) {
    const pts = sr.points.slice().sort((a, b) => a[0] - b[0]);
    if (pts.length > 1) {
      const d = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`);
      if (sr.area) {
        const base = y(0).toFixed(1);
        svg.append(s('path', { class: `area ${sr.cls}`, d: `${d.join('')}` +
          `L${x(pts[pts.length - 1][0]).toFixed(1)},${base}L${x(pts[0][0]).toFixed(1)},${base}Z` }));
      }
      svg.append(s('path', { class: `line ${sr.cls}`, d: d.join('') }));
    }
    if (pts.length <= room || pts.length === 1) {
      for (const p of pts) {
        svg.append(s('circle', { class: `dot ${sr.cls}`, cx: x(p[0]), cy: y(p[1]), r: 3 },
          s('title', {}, `${sr.name}: ${format(p[1])} (${full.format(new Date(p[0]))})`)));
      }
    }
  }
  return svg;
}

/** Bars with their labels under them and their values over them. ``bars``: [{label, value}]. */
function drawBars(width, height, { bars, cls = 'bar-a', unit }) {
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    class: 'chart-svg' });
  const ticks = niceTicks(Math.max(0, ...bars.map((b) => b.value)));
  const yMax = ticks[ticks.length - 1] || 1;
  const y = (v) => height - M.bottom - (v / yMax) * (height - M.top - M.bottom);
  yAxis(svg, ticks, y, width, unit);
  const band = (width - M.left - M.right) / Math.max(1, bars.length);
  bars.forEach((b, i) => {
    const w = Math.min(64, band * 0.7);
    const cx = M.left + band * i + band / 2;
    const top = y(b.value);
    svg.append(s('rect', { class: `bar ${cls}`, x: cx - w / 2, y: top, width: w,
      height: Math.max(0, height - M.bottom - top), rx: 3 }, s('title', {}, `${b.label}: ${b.value}`)),
    s('text', { class: 'tick', x: cx, y: height - 10, 'text-anchor': 'middle' }, b.label),
    s('text', { class: 'bar-value', x: cx, y: top - 4, 'text-anchor': 'middle' }, b.value));
  });
  svg.append(s('line', { class: 'axis', x1: M.left, x2: width - M.right,
    y1: height - M.bottom, y2: height - M.bottom }));
  return svg;
}

function legend(series) {
  const el = document.createElement('ul');
  el.className = 'legend';
  for (const sr of series) {
    const li = document.createElement('li');
    const key = document.createElement('span');
    key.className = `key ${sr.cls}`;
    li.append(key, document.createTextNode(sr.name));
    el.append(li);
  }
  return el;
}

/**
 * A chart in ``box`` (an element in the page): ``kind`` 'lines' or 'bars', ``spec`` as
 * drawLines / drawBars take it. Redrawn whenever the box's width changes; ``signal`` ends that.
 */
export function mountChart(box, kind, spec, signal, height = 220) {
  const draw = kind === 'bars' ? drawBars : drawLines;
  let drawn = 0;
  const redraw = () => {
    const width = Math.floor(box.clientWidth);
    if (width < 50 || width === drawn) return;
    drawn = width;
    const svg = draw(width, height, spec);
    if (spec.label) svg.setAttribute('aria-label', spec.label);
    box.replaceChildren(svg, kind === 'lines' && spec.series.length > 1 ? legend(spec.series)
      : document.createTextNode(''));
  };
  const observer = new ResizeObserver(redraw);
  observer.observe(box);
  signal.addEventListener('abort', () => observer.disconnect());
  redraw();
}
