// A person: their examples (where each came from, its quality), their latest sightings, and
// for operators: add a photo, rename; for admins: delete (every trace of them).

import { api, apiPath, can } from '../api.js';
import { ago, confirmButton, empty, errorLine, field, fill, fmtDateTime, fmtNum, h,
  pageHeader, toast } from '../dom.js';
import { initials } from './people.js';

function examplesTable(items) {
  if (!items.length) return empty('No examples.');
  return h('div.table-wrap', h('table.table',
    h('thead', h('tr', h('th', 'Source'), h('th.num', 'Quality'), h('th', 'Added'))),
    h('tbody', items.map((e) => h('tr',
      h('td.wrap', e.source || '—'), h('td.num', fmtNum(e.quality, 2)),
      h('td', fmtDateTime(e.created)))))));
}

function sightingsList(items) {
  if (!items.length) return empty('Not seen by any camera yet.');
  return h('ol.timeline.compact', items.map((s) => h('li.event', { dataset: { kind: s.kind } },
    h('time.ev-time', { dateTime: s.wall_time || '' }, fmtDateTime(s.wall_time)),
    h('div.ev-main', h('div.ev-title', s.camera, s.track_id >= 0 ? ` · track ${s.track_id}` : ''),
      h('div.ev-meta', typeof s.similarity === 'number'
        ? `similarity ${fmtNum(s.similarity, 2)}` : '')),
    h('a.btn.btn-small', { href: `#/events?camera=${encodeURIComponent(s.camera)}` +
      `&track_id=${s.track_id}&since=` }, 'events'))));
}

function photoForm(name, reload) {
  const photo = h('input', { type: 'file', accept: 'image/*', required: true,
    'aria-label': 'Photo' });
  const error = errorLine();
  const submit = h('button.btn', { type: 'submit' }, 'Add photo');
  const form = h('form.inline-form', photo, submit, error.el);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.clear();
    submit.disabled = true;
    try {
      const data = new FormData();
      data.append('photo', photo.files[0]);
      const r = await api(apiPath('people', name, 'examples'), { method: 'POST', form: data });
      toast(`Added ${r.added} example${r.added === 1 ? '' : 's'}`);
      reload();
    } catch (err) {
      error.set(err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function renameForm(name, navigate) {
  const input = h('input', { value: name, required: true, maxLength: 200, id: 'rename-input',
    'aria-label': 'New name' });
  const error = errorLine();
  const form = h('form.inline-form', input, h('button.btn', { type: 'submit' }, 'Rename'),
    error.el);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const to = input.value.trim();
    if (!to || to === name) return;
    error.clear();
    try {
      const r = await api(apiPath('people', name), { method: 'PATCH', json: { name: to } });
      toast(`Renamed to ${r.name}`);
      navigate(`#/people/${encodeURIComponent(r.name)}`);
    } catch (err) {
      error.set(err);
    }
  });
  return form;
}

export async function render(view, { params, signal, navigate }) {
  const name = params[0];
  const error = errorLine();
  const body = h('div.stack');
  view.append(h('p.crumbs', h('a', { href: '#/people' }, '← People')), error.el, body);

  async function load() {
    let p;
    try {
      p = await api(apiPath('people', name), { signal });
    } catch (err) {
      if (err.name === 'AbortError') return;
      fill(body, pageHeader(name));
      error.set(err);
      return;
    }
    const actions = [];
    if (can('admin')) {
      actions.push(confirmButton('Delete', async () => {
        try {
          const r = await api(apiPath('people', p.name), { method: 'DELETE' });
          toast(`${p.name} erased: ${r.embeddings ?? 0} examples, ${r.events_rewritten ?? 0} ` +
            `events, ${(r.clips_deleted || []).length} clips`);
          navigate('#/people');
        } catch (err) {
          error.set(err);
        }
      }, { confirmLabel: 'Delete every trace?' }));
    }
    const head = h('div.person-head', h('span.avatar.avatar-big', { 'aria-hidden': 'true' },
      initials(p.name)), h('div', h('h1', { id: 'person-name' }, p.name),
      h('p.muted', `${p.examples} example${p.examples === 1 ? '' : 's'} · enrolled ` +
        `${ago(p.created)}`)), h('div.page-actions', actions));
    const exampleCard = h('section.card', h('div.card-head', h('h2', 'Examples')),
      examplesTable(p.example_list || []));
    if (can('operator')) {
      exampleCard.append(photoForm(p.name, load),
        h('p.muted.small', 'More examples come from events and clips: “Add face to…”.'));
    }
    const sightCard = h('section.card', h('div.card-head', h('h2', 'Latest sightings')),
      sightingsList(p.sightings || []));
    const cards = [exampleCard, sightCard];
    if (can('operator')) {
      cards.push(h('section.card', h('div.card-head', h('h2', 'Rename')),
        renameForm(p.name, navigate)));
    }
    fill(body, head, h('div.two-col', cards));
  }
  await load();
}
