// Settings: the effective configuration, read-only (secrets come masked from the server), as a
// tree that folds, or as JSON.

import { api } from '../api.js';
import { errorLine, fill, h, pageHeader } from '../dom.js';

function scalar(v) {
  if (v === null) return h('span.v.v-null', 'null');
  if (typeof v === 'boolean') return h('span.v.v-bool', String(v));
  if (typeof v === 'number') return h('span.v.v-num', String(v));
  return h('span.v.v-str', String(v));
}

function isScalar(v) {
  return v === null || typeof v !== 'object';
}

/** A node of the tree: scalars as "key value", objects and arrays as folding sections. */
function node(key, value, depth) {
  if (isScalar(value)) return h('div.kv', h('span.k', key), scalar(value));
  const entries = Array.isArray(value)
    ? value.map((v, i) => [v && typeof v === 'object' && !Array.isArray(v) && v.name
      ? `${i}: ${v.name}` : String(i), v])
    : Object.entries(value);
  if (!entries.length) {
    return h('div.kv', h('span.k', key), h('span.v.v-null', Array.isArray(value) ? '[]' : '{}'));
  }
  if (Array.isArray(value) && value.every(isScalar) && value.length <= 8) {
    return h('div.kv', h('span.k', key), h('span.v', value.map((v, i) => [i ? ', ' : '',
      scalar(v)])));
  }
  const count = `${entries.length} ${Array.isArray(value) ? 'item' : 'key'}${entries.length === 1 ? '' : 's'}`;
  return h('details.tree-node', { open: depth < 1 },
    h('summary', h('span.k', key), h('span.muted.small', count)),
    h('div.tree-children', entries.map(([k, v]) => node(k, v, depth + 1))));
}

export async function render(view, { signal }) {
  const error = errorLine();
  const tree = h('div.tree', { id: 'settings-tree' });
  const raw = h('pre.raw', { hidden: true, id: 'settings-json' });
  const expand = h('button.btn', { type: 'button' }, 'Expand all');
  const toggle = h('button.btn', { type: 'button' }, 'Show JSON');
  view.append(pageHeader('Settings', expand, toggle),
    h('p.muted', 'The configuration this server runs with, secrets masked. Change it in the ' +
      'YAML file and restart.'), error.el, h('section.card', tree, raw));
  let data;
  try {
    data = await api('settings', { signal });
  } catch (err) {
    if (err.name !== 'AbortError') error.set(err);
    return;
  }
  fill(tree, Object.entries(data).map(([k, v]) => node(k, v, 0)));
  raw.textContent = JSON.stringify(data, null, 2);
  toggle.addEventListener('click', () => {
    raw.hidden = !raw.hidden;
    tree.hidden = !raw.hidden;
    expand.hidden = !raw.hidden;
    toggle.textContent = raw.hidden ? 'Show JSON' : 'Show tree';
  });
  expand.addEventListener('click', () => {
    const all = [...tree.querySelectorAll('details')];
    const open = all.some((d) => !d.open);
    for (const d of all) d.open = open;
    expand.textContent = open ? 'Collapse all' : 'Expand all';
  });
}
