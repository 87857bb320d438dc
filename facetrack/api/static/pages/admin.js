// Admin: users (roles, disable, password, remove), API keys (the secret is shown once, when
// made) and the audit log (who did what, filtered, a page at a time).

import { api, apiPath, session } from '../api.js';
import { ago, confirmButton, empty, errorLine, field, fill, fmtDateTime, h, pageHeader, select,
  toast } from '../dom.js';

const ROLES = ['viewer', 'operator', 'admin'];
const TABS = [['users', 'Users'], ['keys', 'API keys'], ['audit', 'Audit log']];

/** A table whose rows become labelled cards on a phone (each cell says its column). */
function table(head, rows) {
  for (const tr of rows) {
    [...tr.children].forEach((td, i) => { if (head[i]) td.dataset.label = head[i]; });
  }
  return h('div.table-wrap', h('table.table.stackable', h('thead', h('tr', head.map((c) =>
    h('th', c)))), h('tbody', rows)));
}

// ---- users ----

async function users(box, signal) {
  const error = errorLine();
  const body = h('div');
  fill(box, error.el, body, newUserForm(() => reload()));

  async function change(name, json, done) {
    error.clear();
    try {
      await api(apiPath('users', name), { method: 'PATCH', json });
      toast(done);
      reload();
    } catch (err) {
      error.set(err);
      reload();
    }
  }

  function userRow(u) {
    const self = u.name === session.user.name;
    const role = select(ROLES, u.role, { disabled: self, 'aria-label': `Role of ${u.name}` });
    role.addEventListener('change', () => change(u.name, { role: role.value },
      `${u.name} is now ${role.value}`));
    const password = h('input', { type: 'password', minLength: 10, required: true,
      placeholder: 'new password', autocomplete: 'new-password',
      'aria-label': `New password for ${u.name}` });
    const pwForm = h('form.inline-form', password, h('button.btn.btn-small', { type: 'submit' },
      'Set'));
    pwForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      change(u.name, { password: password.value }, `Password of ${u.name} changed`);
    });
    const toggle = h('button.btn.btn-small', { type: 'button', disabled: self,
      onclick: () => change(u.name, { disabled: !u.disabled },
        `${u.name} ${u.disabled ? 'enabled' : 'disabled'}`) },
    u.disabled ? 'Enable' : 'Disable');
    return h('tr', { dataset: { user: u.name } },
      h('td', h('strong', u.name), self ? h('span.muted.small', ' (you)') : null),
      h('td', role),
      h('td', h('span.badge', { class: u.disabled ? 'badge-bad' : 'badge-ok' },
        u.disabled ? 'disabled' : 'active')),
      h('td', fmtDateTime(u.created)),
      h('td', pwForm),
      h('td.actions', toggle, self ? null : confirmButton('Remove', async () => {
        try {
          await api(apiPath('users', u.name), { method: 'DELETE' });
          toast(`${u.name} removed`);
          reload();
        } catch (err) {
          error.set(err);
        }
      })));
  }

  async function reload() {
    try {
      const data = await api('users', { signal });
      fill(body, table(['Name', 'Role', 'State', 'Created', 'Password', ''],
        (data.items || []).map(userRow)));
    } catch (err) {
      if (err.name !== 'AbortError') error.set(err);
    }
  }
  await reload();
}

function newUserForm(onDone) {
  const name = h('input', { required: true, maxLength: 64, autocomplete: 'off' });
  const role = select(ROLES, 'viewer');
  const password = h('input', { type: 'password', required: true, minLength: 10,
    autocomplete: 'new-password', placeholder: 'at least 10 characters' });
  const error = errorLine();
  const form = h('form.card.sub-card', h('h2', 'Add a user'),
    h('div.filter-row', field('Name', name), field('Role', role),
      field('Password', password),
      h('div.field.field-button', h('button.btn.btn-primary', { type: 'submit' }, 'Add'))),
    error.el);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.clear();
    try {
      const u = await api('users', { method: 'POST', json: { name: name.value.trim(),
        role: role.value, password: password.value } });
      toast(`${u.name} added as ${u.role}`);
      form.reset();
      onDone();
    } catch (err) {
      error.set(err);
    }
  });
  return form;
}

// ---- keys ----

async function keys(box, signal) {
  const error = errorLine();
  const body = h('div');
  const secretBox = h('div.secret', { hidden: true, role: 'status', id: 'new-key' });
  const name = h('input', { required: true, maxLength: 200, placeholder: 'e.g. prometheus' });
  const role = select(ROLES, 'viewer');
  const form = h('form.card.sub-card', h('h2', 'Make a key'),
    h('div.filter-row', field('Name', name), field('Role', role),
      h('div.field.field-button', h('button.btn.btn-primary', { type: 'submit' }, 'Make key'))),
    secretBox);
  fill(box, error.el, body, form);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.clear();
    try {
      const k = await api('keys', { method: 'POST', json: { name: name.value.trim(),
        role: role.value } });
      const code = h('code.secret-value', k.key);
      const copy = h('button.btn.btn-small', { type: 'button', onclick: async () => {
        try {
          await navigator.clipboard.writeText(k.key);
          toast('Copied');
        } catch {
          window.getSelection().selectAllChildren(code);
        }
      } }, 'Copy');
      fill(secretBox, h('p', h('strong', `Key “${k.name}” (${k.role}). `),
        'Copy it now: it is shown only this once.'), h('div.secret-row', code, copy),
      h('p.muted.small', 'Send it as Authorization: Bearer <key>.'));
      secretBox.hidden = false;
      form.reset();
      reload();
    } catch (err) {
      error.set(err);
    }
  });

  async function reload() {
    try {
      const data = await api('keys', { signal });
      const items = data.items || [];
      fill(body, items.length ? table(['Name', 'Role', 'Key', 'Made', ''], items.map((k) =>
        h('tr', h('td', h('strong', k.name)), h('td', k.role), h('td', h('code', `${k.hint}…`)),
          h('td', `${ago(k.created)} by ${k.created_by}`),
          h('td.actions', confirmButton('Revoke', async () => {
            try {
              await api(apiPath('keys', k.id), { method: 'DELETE' });
              toast(`Key ${k.name} revoked`);
              reload();
            } catch (err) {
              error.set(err);
            }
          }))))) : empty('No API keys. Machines (Prometheus, scripts) use one each.'));
    } catch (err) {
      if (err.name !== 'AbortError') error.set(err);
    }
  }
  await reload();
}

// ---- audit ----

async function audit(box, signal) {
  const since = select([['1h', 'last hour'], ['24h', 'last 24 hours'], ['7d', 'last 7 days'],
    ['30d', 'last 30 days'], ['', 'all time']], '7d');
  const actor = h('input', { type: 'search', placeholder: 'anyone', maxLength: 200 });
  const action = h('input', { type: 'search', placeholder: 'e.g. login, person_enrol',
    maxLength: 64 });
  const form = h('form.filters', h('div.filter-row', field('Time', since), field('Who', actor),
    field('Action', action)));
  const error = errorLine();
  const rows = h('tbody');
  const more = h('button.btn', { type: 'button', hidden: true }, 'Older entries');
  fill(box, form, error.el, h('div.table-wrap', h('table.table.stackable.audit',
    h('thead', h('tr', ['When', 'Who', 'Action', 'Target', 'Details', 'From'].map((c) =>
      h('th', c)))), rows)), h('div.row-center', more));
  let next = null;

  async function load(reset) {
    error.clear();
    try {
      const data = await api('audit', { query: { since: since.value, actor: actor.value.trim(),
        action: action.value.trim(), before: reset ? null : next, limit: 100 }, signal });
      if (reset) rows.replaceChildren();
      for (const e of data.items || []) {
        const detail = e.detail && Object.keys(e.detail).length ? JSON.stringify(e.detail) : '';
        rows.append(h('tr', h('td', { dataset: { label: 'When' } }, fmtDateTime(e.wall_time)),
          h('td', { dataset: { label: 'Who' } }, e.actor),
          h('td', { dataset: { label: 'Action' } }, h('span.kind', e.action)),
          h('td.wrap', { dataset: { label: 'Target' } }, e.target || ''),
          h('td.wrap.mono', { dataset: { label: 'Details' } }, detail),
          h('td', { dataset: { label: 'From' } }, e.address || '')));
      }
      if (!rows.childElementCount) rows.append(h('tr', h('td', { colSpan: 6 }, 'Nothing.')));
      next = data.next;
      more.hidden = !next;
    } catch (err) {
      if (err.name !== 'AbortError') error.set(err);
    }
  }
  for (const el of [since, actor, action]) el.addEventListener('change', () => load(true));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load(true);
  });
  more.addEventListener('click', () => load(false));
  await load(true);
}

const PANES = { users, keys, audit };

export async function render(view, { query, signal, setQuery }) {
  let tab = PANES[query.get('tab')] ? query.get('tab') : 'users';
  const box = h('section.card.pane');
  const bar = h('div.tabs', { role: 'tablist' });
  const show = async (name) => {
    tab = name;
    setQuery({ tab });
    for (const b of bar.children) {
      b.setAttribute('aria-selected', String(b.dataset.tab === name));
    }
    fill(box, h('p.muted', 'Loading…'));
    await PANES[name](box, signal);
  };
  for (const [name, label] of TABS) {
    bar.append(h('button.tab', { type: 'button', role: 'tab', dataset: { tab: name },
      onclick: () => show(name) }, label));
  }
  view.append(pageHeader('Admin'), bar, box);
  await show(tab);
}
