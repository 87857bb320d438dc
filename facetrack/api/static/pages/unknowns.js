// Unknown faces: scan the stored clips for faces nobody enrolled, see them grouped by
// appearance (crops, how often seen, in which clips) and name a group to enrol it.

import { api, apiPath, can, followJob } from '../api.js';
import { clipPanel } from '../clip.js';
import { ago, empty, errorLine, field, fill, fmtNum, h, jobProgress, pageHeader, select,
  toast } from '../dom.js';

const PERIODS = [['24h', 'the last 24 hours'], ['7d', 'the last 7 days'],
  ['30d', 'the last 30 days']];

function groupCard(g, signal, onNamed) {
  const crops = h('div.crops', (g.crops || []).map((src, i) =>
    h('img.crop', { src, alt: `unknown face ${g.group}, sample ${i + 1}`, loading: 'lazy',
      onerror: (ev) => ev.target.remove() })));
  const error = errorLine();
  const input = h('input', { required: true, maxLength: 200, placeholder: 'Their name',
    'aria-label': `Name for unknown face ${g.group}` });
  const submit = h('button.btn.btn-primary', { type: 'submit' }, 'Name');
  const form = h('form.inline-form', input, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = input.value.trim();
    if (!name) return;
    error.clear();
    submit.disabled = true;
    try {
      const r = await api(apiPath('unknowns', g.group, 'name'), { method: 'POST',
        json: { name, scan: g.scan } });
      toast(`${r.name}: ${r.added} example${r.added === 1 ? '' : 's'} enrolled`);
      onNamed(card, r);
    } catch (err) {
      error.set(err);
      submit.disabled = false;
    }
  });
  const player = h('div.ev-clip');
  let playing = null;
  const tracks = h('ul.chips', (g.tracks || []).map((t) => h('li', h('button.chip',
    { type: 'button', title: 'Play this clip', onclick: () => {
      if (playing) playing.abort();
      playing = new AbortController();
      signal.addEventListener('abort', () => playing && playing.abort());
      player.replaceChildren(clipPanel(t.clip, playing.signal));
    } }, `${t.clip.split('/').pop()} · track ${t.track_id} · ${fmtNum(t.start_s)}–` +
      `${fmtNum(t.end_s)} s`))));
  const card = h('article.card.unknown-card', { dataset: { group: g.group } },
    h('div.card-head', h('h2', `Face ${g.group}`),
      h('span.badge.badge-neutral', `seen ${g.sightings}×`)),
    crops.childElementCount ? crops : empty('No crops.'),
    form, error.el,
    h('details', h('summary', `${(g.tracks || []).length} track(s) in clips`), tracks, player));
  return card;
}

export async function render(view, { signal }) {
  const scanned = h('span.muted', { id: 'unknowns-scanned' });
  const error = errorLine();
  const period = select(PERIODS, '7d', { id: 'scan-since', 'aria-label': 'Clips to scan' });
  const scan = h('button.btn.btn-primary', { type: 'submit', id: 'scan-start' }, 'Scan clips');
  const progress = jobProgress('Scanning');
  progress.el.hidden = true;
  const grid = h('div.grid.unknown-grid', { id: 'unknown-groups' });
  const form = h('form.card.scan-form',
    h('p', 'Faces in the recorded clips that match nobody are grouped by appearance; name a ',
      'group to enrol it. Nothing is stored until you name one.'),
    h('div.filter-row', field('Clips of', period), h('div.field.field-button', scan)),
    progress.el);
  view.append(pageHeader('Unknown faces', scanned), form, error.el, grid);

  async function load() {
    try {
      const data = await api('unknowns', { signal });
      scanned.textContent = data.scanned ? `scanned ${ago(data.scanned)}` : 'not scanned yet';
      const groups = data.items || [];
      fill(grid, groups.map((g) => groupCard(g, signal, (card, r) => {
        card.replaceWith(h('article.card.unknown-card.named', h('p.ok',
          `Enrolled as `, h('a', { href: `#/people/${encodeURIComponent(r.name)}` }, r.name),
          ` (${r.added} example${r.added === 1 ? '' : 's'}).`)));
      })));
      if (!groups.length) {
        grid.append(empty(data.scanned ? 'No unknown faces in the scanned clips.'
          : 'Scan the clips to find faces that come back.'));
      }
    } catch (err) {
      if (err.name !== 'AbortError') error.set(err);
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.clear();
    scan.disabled = true;
    progress.el.hidden = false;
    try {
      const job = await api('unknowns/scan', { method: 'POST', json: { since: period.value } });
      const result = await followJob(job, progress.update, { signal });
      toast(`Scan done: ${result && result.groups !== undefined ? result.groups : '?'} group(s)`);
      await load();
    } catch (err) {
      if (err.name !== 'AbortError') error.set(err);
    } finally {
      scan.disabled = false;
      progress.el.hidden = true;
    }
  });
  if (!can('operator')) return;
  await load();
}

