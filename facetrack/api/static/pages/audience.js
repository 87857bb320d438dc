// Audience: per camera, zone and target, the windows' OTS and watchers, attention time and the
// dwell histogram as charts, the totals, and the live occupancy heatmap of cameras that run in
// this server's process. Words as docs/audience.md defines them: OTS (opportunities to see:
// confirmed tracks present), watchers (attention reached the minimum), conversion = watchers /
// OTS.

import { api, apiPath } from '../api.js';
import { mountChart } from '../charts.js';
import { empty, errorLine, field, fill, fmtSeconds, h, pageHeader, select } from '../dom.js';

const RANGES = [['1h', 'last hour'], ['6h', 'last 6 hours'], ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'], ['30d', 'last 30 days']];
const DWELL = [['dwell_0_5', '0–5 s'], ['dwell_5_15', '5–15 s'], ['dwell_15_30', '15–30 s'],
  ['dwell_30_60', '30–60 s'], ['dwell_60_plus', '60 s +']];
const REFRESH_MS = 15000;

function total(label, value, hint) {
  return h('div.total', h('span.total-value', value), h('span.total-label', label),
    hint ? h('span.total-hint', hint) : null);
}

/** The summary's series (cameras already summed per start, oldest first) as chart rows. */
function points(series) {
  return series.map((r) => ({ t: Date.parse(r.window_start), ots: r.ots || 0,
    watchers: r.watchers || 0, attention: r.attention_total_s || 0 }));
}

function heatmap(camera, signal) {
  const img = h('img.heatmap', { alt: `Where faces were in ${camera} (occupancy heatmap)` });
  const card = h('figure.card.heatmap-card', { hidden: true, dataset: { camera } },
    h('figcaption', h('h2', `Occupancy · ${camera}`),
      h('span.muted.small', 'since the stream started; faces blurred')), img);
  // a picture of a few pixels is no heatmap (nothing drawn yet): keep it hidden
  img.addEventListener('load', () => { card.hidden = img.naturalWidth < 16; });
  img.addEventListener('error', () => { card.hidden = true; }); // 404: no heatmap here
  const load = () => {
    img.src = `${apiPath('audience', 'heatmap', camera, 'occupancy.png')}?t=${Date.now()}`;
  };
  load();
  const timer = setInterval(load, REFRESH_MS);
  signal.addEventListener('abort', () => {
    clearInterval(timer);
    img.removeAttribute('src');
  });
  return card;
}

export async function render(view, { query, signal, setQuery }) {
  const f = { camera: query.get('camera') || '', zone: query.get('zone') || 'all',
    target: query.get('target') || 'camera', since: query.get('since') || '24h' };
  const error = errorLine();
  const cameraSel = select([['', 'all cameras']], f.camera, { id: 'aud-camera' });
  const zoneSel = select([['all', 'whole image']], f.zone, { id: 'aud-zone' });
  const targetSel = select([['camera', 'the camera']], f.target, { id: 'aud-target' });
  const rangeSel = select(RANGES, f.since, { id: 'aud-since' });
  const form = h('form.filters.card', h('div.filter-row', field('Camera', cameraSel),
    field('Zone', zoneSel), field('Attention to', targetSel), field('Time', rangeSel)));
  const totals = h('div.totals', { id: 'aud-totals' });
  const otsBox = h('div.chart', { id: 'chart-ots' });
  const attBox = h('div.chart', { id: 'chart-attention' });
  const dwellBox = h('div.chart', { id: 'chart-dwell' });
  const charts = h('div.chart-grid',
    h('section.card.chart-card.wide', h('h2', 'OTS and watchers per window'), otsBox),
    h('section.card.chart-card', h('h2', 'Attention time per window'), attBox),
    h('section.card.chart-card', h('h2', 'How long people stayed (dwell)'), dwellBox));
  const heatmaps = h('div.grid.heatmap-grid');
  const windowsNote = h('span.muted');
  view.append(pageHeader('Audience', windowsNote), form, error.el, totals, charts, heatmaps);

  let chartsSignal = null;
  let heatCtl = null;
  signal.addEventListener('abort', () => {
    if (heatCtl) heatCtl.abort();
    if (chartsSignal) chartsSignal.abort();
  });
  const knownZones = new Set(['all']);
  const knownTargets = new Set(['camera']);

  function addOptions(sel, known, names, chosen) {
    for (const name of names || []) {
      if (!known.has(name)) {
        known.add(name);
        sel.append(h('option', { value: name, selected: name === chosen }, name));
      }
    }
  }

  async function options() {
    try {
      const cams = await api('cameras', { signal });
      if (!cameraSel.options.length || cameraSel.options.length === 1) {
        for (const c of cams.items || []) {
          cameraSel.append(h('option', { value: c.camera, selected: c.camera === f.camera },
            c.camera));
        }
      }
      if (heatCtl) heatCtl.abort();
      heatCtl = new AbortController();
      const live = (cams.items || []).filter((c) => c.live && (!f.camera || c.camera === f.camera));
      fill(heatmaps, live.map((c) => heatmap(c.camera, heatCtl.signal)));
    } catch (err) {
      if (err.name !== 'AbortError') error.set(err);
    }
  }

  async function load() {
    let data;
    try {
      data = await api('audience/summary', { query: f, signal });
      error.clear();
    } catch (err) {
      if (err.name !== 'AbortError') error.set(err);
      return;
    }
    addOptions(zoneSel, knownZones, data.zones, f.zone);
    addOptions(targetSel, knownTargets, data.targets, f.target);
    const t = data.totals || {};
    const conversion = t.ots ? `${Math.round((100 * t.watchers) / t.ots)} %` : '—';
    fill(totals, total('OTS', String(t.ots ?? 0), 'people who could see'),
      total('watchers', String(t.watchers ?? 0), 'looked long enough'),
      total('conversion', conversion, 'watchers / OTS'),
      total('attention', fmtSeconds(t.attention_s ?? 0), 'time spent looking'));
    const per = data.bucket && data.bucket !== 'window' ? `, charted per ${data.bucket}` : '';
    windowsNote.textContent = `${data.windows} window${data.windows === 1 ? '' : 's'}${per}`;
    if (chartsSignal) chartsSignal.abort();
    chartsSignal = new AbortController();
    const rows = points(data.series || []);
    if (!rows.length) {
      for (const box of [otsBox, attBox, dwellBox]) {
        fill(box, empty('No audience windows in this period (analytics off, or nobody yet).'));
      }
    } else {
      mountChart(otsBox, 'lines', { label: 'OTS and watchers over time', series: [
        { name: 'OTS', cls: 'series-a', area: true, points: rows.map((r) => [r.t, r.ots]) },
        { name: 'watchers', cls: 'series-b', points: rows.map((r) => [r.t, r.watchers]) }] },
      chartsSignal.signal);
      mountChart(attBox, 'lines', { label: 'Attention time over time', unit: 's',
        format: (v) => fmtSeconds(v), series: [{ name: 'attention', cls: 'series-c',
          points: rows.map((r) => [r.t, +r.attention.toFixed(1)]) }] }, chartsSignal.signal);
      const hist = data.dwell_histogram || {};
      mountChart(dwellBox, 'bars', { label: 'Dwell histogram', bars: DWELL.map(([k, label]) =>
        ({ label, value: hist[k] || 0 })) }, chartsSignal.signal, 200);
    }
  }

  function apply() {
    const cameraChanged = f.camera !== cameraSel.value;
    Object.assign(f, { camera: cameraSel.value, zone: zoneSel.value, target: targetSel.value,
      since: rangeSel.value });
    setQuery(Object.entries(f));
    if (cameraChanged) options();
    load();
  }
  for (const el of [cameraSel, zoneSel, targetSel, rangeSel]) el.addEventListener('change', apply);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply();
  });
  await Promise.all([options(), load()]);
  const timer = setInterval(load, REFRESH_MS);
  signal.addEventListener('abort', () => clearInterval(timer));
}

