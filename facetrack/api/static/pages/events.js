// Events: a timeline, newest first, filtered by camera, kind and time range (the filters live
// in the address, so a filtered view can be linked). Alerts with a clip play it in the page;
// events with a track offer "add this face to…" (operators).

import { api, can, clipKey } from '../api.js';
import { clipPanel } from '../clip.js';
import { empty, errorLine, field, fill, fmtDate, fmtNum, fmtSeconds, fmtTime, h, pageHeader,
  select, words } from '../dom.js';
import { enrolDialog, fromEvent } from '../enrol.js';

const MAIN_KINDS = ['alert', 'identity_matched', 'unknown_face', 'track_started',
  'track_ended'];
const MORE_KINDS = ['attention', 'dwell', 'eyes_closed', 'drowsy', 'distracted',
  'long_distraction', 'visual_attention_time_sharing', 'microsleep', 'sleep', 'unresponsive',
  'distraction_budget', 'uncertain', 'prolonged_eye_closure', 'fatigue_trend'];
const RANGES = [['15m', 'last 15 minutes'], ['1h', 'last hour'], ['2h', 'last 2 hours'],
  ['24h', 'last 24 hours'], ['7d', 'last 7 days'], ['30d', 'last 30 days'], ['', 'all time']];
const PAGE = 50;
const SHOWN = new Set(['id', 'kind', 'camera', 'frame', 'timestamp', 'track_id', 'wall_time',
  'person_id', 'person', 'person_key', 'clip', 'detail', 'reason']);

/** One line saying what happened. */
function summary(ev) {
  const parts = [];
  if (ev.kind === 'alert') parts.push(words(ev.reason || 'alert'));
  if (ev.person) parts.push(ev.person);
  else if (ev.kind === 'alert' && ev.person_key) {
    // "unknown:2": the second unknown face this camera alerted on
    parts.push(String(ev.person_key).replace(/^unknown:(\d+)$/, 'unknown #$1'));
  }
  if (ev.track_id >= 0) parts.push(`track ${ev.track_id}`);
  return parts.join(' · ') || words(ev.kind);
}

/** The event's own figures (similarity, duration...), as short text. */
function figures(ev) {
  const out = [ev.camera];
  const extra = { ...(ev.detail && typeof ev.detail === 'object' ? ev.detail : {}) };
  for (const [k, v] of Object.entries(ev)) if (!SHOWN.has(k)) extra[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (k === 'person' || k === 'person_id' || v === null || typeof v === 'object') continue;
    if (k.endsWith('_s') && typeof v === 'number') out.push(`${words(k.slice(0, -2))} ${fmtSeconds(v)}`);
    else out.push(`${words(k)} ${typeof v === 'number' ? fmtNum(v, 2) : v}`);
  }
  return out.join(' · ');
}

function readFilters(query) {
  return {
    camera: query.get('camera') || '',
    kind: query.getAll('kind'),
    since: query.has('since') ? query.get('since') : '24h',
    until: query.get('until') || '',
    person: query.get('person') || '',
    track_id: query.get('track_id') || '',
  };
}

function filterQuery(f) {
  const q = [];
  if (f.camera) q.push(['camera', f.camera]);
  for (const k of f.kind) q.push(['kind', k]);
  q.push(['since', f.since]);
  if (f.until) q.push(['until', f.until]);
  if (f.person) q.push(['person', f.person]);
  if (f.track_id) q.push(['track_id', f.track_id]);
  return q;
}

function kindChip(kind, checked, onchange) {
  const box = h('input', { type: 'checkbox', value: kind, checked, onchange });
  return h('label.chip.chip-check', { class: `kind-${kind}`, dataset: { kind } }, box,
    words(kind));
}

export async function render(view, { query, signal, setQuery }) {
  const f = readFilters(query);
  const error = errorLine();
  const list = h('ol.timeline', { id: 'event-list' });
  const more = h('button.btn', { type: 'button', id: 'events-more', hidden: true },
    'Older events');
  const count = h('span.muted', { id: 'event-count' });
  const refreshBtn = h('button.btn', { type: 'button', id: 'events-refresh' }, 'Refresh');
  view.append(pageHeader('Events', count, refreshBtn));

  const cameraSelect = select([['', 'all cameras']], f.camera, { id: 'filter-camera' });
  const rangeSelect = select(RANGES, f.since, { id: 'filter-since' });
  const person = h('input', { id: 'filter-person', type: 'search', value: f.person,
    placeholder: 'anyone', maxLength: 200 });
  const kinds = new Set(f.kind);
  const onKind = (ev) => {
    if (ev.target.checked) kinds.add(ev.target.value);
    else kinds.delete(ev.target.value);
    apply();
  };
  const chips = h('div.chips', { id: 'filter-kinds' },
    MAIN_KINDS.map((k) => kindChip(k, kinds.has(k), onKind)));
  const moreKinds = h('details.more-kinds', { open: MORE_KINDS.some((k) => kinds.has(k)) },
    h('summary', 'more kinds'),
    h('div.chips', MORE_KINDS.map((k) => kindChip(k, kinds.has(k), onKind))));
  const trackChip = f.track_id ? h('button.chip.chip-on', { type: 'button',
    title: 'Show every track', onclick: () => {
      f.track_id = '';
      trackChip.remove();
      apply();
    } }, `track ${f.track_id} ×`) : null;
  const form = h('form.filters.card', { id: 'event-filters' },
    h('div.filter-row', field('Camera', cameraSelect), field('Time', rangeSelect),
      field('Person', person), trackChip ? h('div.field.field-button', trackChip) : null),
    h('div.filter-kinds', h('span.field-label', 'Kinds (none ticked: all)'), chips, moreKinds));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply();
  });
  for (const el of [cameraSelect, rangeSelect]) el.addEventListener('change', () => apply());
  person.addEventListener('change', () => apply());
  view.append(form, error.el, h('section.card.timeline-card', list, h('div.row-center', more)));

  api('cameras', { signal }).then((data) => {
    for (const row of data.items || []) {
      cameraSelect.append(h('option', { value: row.camera, selected: row.camera === f.camera },
        row.camera));
    }
  }).catch(() => {});

  let next = null;
  let lastDay = null;
  let openClip = null; // {controller, row}
  let loading = 0;

  function closeClip() {
    if (!openClip) return;
    openClip.controller.abort();
    openClip.slot.replaceChildren();
    openClip.button.textContent = 'Play clip';
    openClip.button.setAttribute('aria-expanded', 'false');
    openClip = null;
  }
  signal.addEventListener('abort', closeClip);

  function row(ev) {
    const actions = h('div.ev-actions');
    const slot = h('div.ev-clip');
    const key = clipKey(ev.clip);
    if (key && can('operator')) {
      const button = h('button.btn.btn-small', { type: 'button', class: 'play-clip',
        'aria-expanded': 'false' }, 'Play clip');
      button.addEventListener('click', () => {
        const wasOpen = openClip && openClip.button === button;
        closeClip();
        if (wasOpen) return;
        const controller = new AbortController();
        signal.addEventListener('abort', () => controller.abort());
        slot.replaceChildren(clipPanel(key, controller.signal));
        button.textContent = 'Close clip';
        button.setAttribute('aria-expanded', 'true');
        openClip = { controller, slot, button };
      });
      actions.append(button);
    } else if (key) {
      actions.append(h('span.muted.small', 'clip recorded'));
    }
    if (ev.track_id >= 0 && can('operator')) {
      actions.append(h('button.btn.btn-small', { type: 'button', class: 'enrol-event',
        onclick: () => enrolDialog(`Track ${ev.track_id} of ${ev.camera}, ` +
          `${words(ev.kind)} at ${fmtTime(ev.wall_time)}`, fromEvent(ev.id)) },
      'Add face to…'));
    }
    return h('li.event', { dataset: { kind: ev.kind, id: ev.id } },
      h('time.ev-time', { dateTime: ev.wall_time || '' }, fmtTime(ev.wall_time)),
      h('div.ev-main',
        h('div.ev-title', h('span.kind', { class: `kind-${ev.kind}` }, words(ev.kind)),
          ' ', summary(ev)),
        h('div.ev-meta', figures(ev))),
      actions, slot);
  }

  function appendRows(items) {
    for (const ev of items) {
      const day = fmtDate(ev.wall_time);
      if (day !== lastDay) {
        list.append(h('li.day', day));
        lastDay = day;
      }
      list.append(row(ev));
    }
  }

  async function load(reset) {
    const mine = ++loading;
    error.clear();
    more.disabled = true;
    const params = { camera: f.camera, kind: [...kinds], since: f.since, until: f.until,
      person: f.person, track_id: f.track_id, limit: PAGE, before: reset ? null : next };
    list.setAttribute('aria-busy', 'true');
    try {
      const data = await api('events', { query: params, signal });
      if (mine !== loading) return; // a newer filter won
      if (reset) {
        closeClip();
        fill(list);
        lastDay = null;
      }
      appendRows(data.items || []);
      next = data.next;
      more.hidden = !next;
      const shown = list.querySelectorAll('.event').length;
      count.textContent = `${shown}${next ? '+' : ''} event${shown === 1 ? '' : 's'}`;
      if (!shown) list.append(h('li', empty('No events match these filters.')));
    } catch (err) {
      if (err.name !== 'AbortError') error.set(err);
    } finally {
      if (mine === loading) {
        more.disabled = false;
        list.removeAttribute('aria-busy');
      }
    }
  }

  function apply() {
    f.camera = cameraSelect.value;
    f.since = rangeSelect.value;
    f.person = person.value.trim();
    f.kind = [...kinds];
    setQuery(filterQuery(f));
    return load(true);
  }

  more.addEventListener('click', () => load(false));
  refreshBtn.addEventListener('click', () => load(true));
  await load(true);
}
