// People: everyone enrolled (name, examples, since when), with a search box; operators enrol a
// new person from a photo.

import { api, can } from '../api.js';
import { ago, empty, errorLine, field, fill, h, pageHeader, toast } from '../dom.js';

function personCard(p) {
  const href = `#/people/${encodeURIComponent(p.name)}`;
  return h('li.person-card', { dataset: { person: p.name } },
    h('a.person-link', { href },
      h('span.avatar', { 'aria-hidden': 'true' }, initials(p.name)),
      h('span.person-text', h('strong.person-name', p.name),
        h('span.muted.small', `${p.examples} example${p.examples === 1 ? '' : 's'} · ` +
          `enrolled ${ago(p.created)}`))));
}

export function initials(name) {
  const parts = String(name).replace(/[_\-.]+/g, ' ').trim().split(/\s+/);
  return ((parts[0] || '?')[0] + (parts.length > 1 ? parts[parts.length - 1][0] : ''))
    .toUpperCase();
}

function enrolForm(onDone) {
  const name = h('input', { name: 'name', required: true, maxLength: 200, id: 'new-person-name' });
  const photo = h('input', { name: 'photo', type: 'file', accept: 'image/*', required: true,
    id: 'new-person-photo' });
  const error = errorLine();
  const submit = h('button.btn.btn-primary', { type: 'submit' }, 'Enrol');
  const form = h('form.card.form-inline', { id: 'enrol-photo-form' },
    h('h2', 'Enrol from a photo'),
    h('div.filter-row', field('Name', name), field('Photo', photo, 'One clear face.')),
    error.el, h('div.row-end', submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.clear();
    submit.disabled = true;
    try {
      const data = new FormData();
      data.append('name', name.value.trim());
      data.append('photo', photo.files[0]);
      const result = await api('people', { method: 'POST', form: data });
      toast(`${result.name} enrolled`);
      form.reset();
      onDone(result.name);
    } catch (err) {
      error.set(err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function render(view, { signal, navigate }) {
  const search = h('input', { type: 'search', placeholder: 'Find a name', id: 'people-search',
    'aria-label': 'Find a name' });
  const count = h('span.muted');
  const error = errorLine();
  const list = h('ul.people-grid', { id: 'people-list' });
  view.append(pageHeader('People', count), error.el,
    h('section.card', h('div.card-head', h('h2', 'Enrolled'), search), list));
  if (can('operator')) {
    view.append(enrolForm((name) => navigate(`#/people/${encodeURIComponent(name)}`)));
  }

  let people = [];
  const show = () => {
    const needle = search.value.trim().toLowerCase();
    const shown = people.filter((p) => p.name.toLowerCase().includes(needle));
    fill(list, shown.map(personCard));
    if (!shown.length) {
      list.append(h('li', empty(people.length ? 'Nobody by that name.'
        : 'Nobody is enrolled yet. Enrol from a photo, from an event, or name an unknown face.')));
    }
    count.textContent = `${people.length} enrolled`;
  };
  search.addEventListener('input', show);
  try {
    const data = await api('people', { signal });
    people = (data.items || []).slice().sort((a, b) => a.name.localeCompare(b.name));
    show();
  } catch (err) {
    if (err.name !== 'AbortError') error.set(err);
  }
}
