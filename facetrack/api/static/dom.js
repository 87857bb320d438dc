// Building the page without innerHTML: every string goes in as text, so nothing a camera name,
// a person's name or an error line holds can become markup. Plus the small widgets every page
// shares (error line, toasts, job progress, two-step delete) and formatting.

/**
 * An element: ``h('button.btn.primary', {type: 'submit', onclick: fn}, 'Save')``.
 * Props: ``class`` (added to the classes of the tag), ``dataset`` (object), ``style`` (object,
 * set through the CSSOM, which the CSP allows), ``on<event>`` (listeners), any DOM property
 * (``value``, ``disabled``, ``hidden``...) or else an attribute. Children: nodes, strings
 * (always text), numbers, arrays; null/undefined/false are skipped.
 */
export function h(tag, props, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.classList.add(...classes);
  if (props && (typeof props !== 'object' || props instanceof Node || Array.isArray(props))) {
    children.unshift(props);
    props = null;
  }
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') {
      el.classList.add(...String(value).split(/\s+/).filter(Boolean));
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'style') {
      Object.assign(el.style, value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (settable(el, key)) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Whether ``key`` is a DOM property that can be set (``input.list`` only has a getter: its
 * attribute must be set instead). */
function settable(el, key) {
  for (let o = el; o; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return Boolean(d.set || d.writable);
  }
  return false;
}

/** Append children (see ``h``) to ``el``. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace everything in ``el`` with ``children``. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A line that shows an error (role=alert) or nothing; ``set(err)`` / ``clear()``. */
export function errorLine() {
  const el = h('p.error', { role: 'alert', hidden: true });
  return {
    el,
    set(err) {
      el.textContent = typeof err === 'string' ? err : (err && err.message) || 'failed';
      el.hidden = false;
    },
    clear() {
      el.textContent = '';
      el.hidden = true;
    },
  };
}

/** A short message at the corner of the screen. */
export function toast(message, kind = 'ok') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = h('div.toast', { class: `toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    message);
  box.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

/** A progress bar for a job: ``update(job)`` shows its state and progress. */
export function jobProgress(label = 'Working') {
  const bar = h('progress', { max: 1 });
  const text = h('span.job-text', `${label}: queued`);
  const el = h('div.job', { role: 'status' }, bar, text);
  return {
    el,
    update(job) {
      el.dataset.state = job.state;
      if (typeof job.progress === 'number') bar.value = job.progress;
      else bar.removeAttribute('value'); // indeterminate
      const pct = typeof job.progress === 'number' ? ` ${Math.round(job.progress * 100)} %` : '';
      text.textContent = `${label}: ${job.state}${job.state === 'running' ? pct : ''}`;
    },
  };
}

/** A delete button that asks once more ("Really delete?") before it calls ``action``. */
export function confirmButton(label, action, { confirmLabel = 'Click again to confirm' } = {}) {
  let armed = null;
  const btn = h('button.btn.btn-danger', { type: 'button' }, label);
  btn.addEventListener('click', async () => {
    if (!armed) {
      btn.textContent = confirmLabel;
      btn.classList.add('armed');
      armed = setTimeout(() => {
        armed = null;
        btn.textContent = label;
        btn.classList.remove('armed');
      }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    btn.disabled = true;
    try {
      await action();
    } finally {
      btn.disabled = false;
      btn.textContent = label;
      btn.classList.remove('armed');
    }
  });
  return btn;
}

/** A labelled form field: ``field('Name', h('input', {...}))``. */
export function field(label, control, hint) {
  return h('label.field', h('span.field-label', label), control,
    hint ? h('span.field-hint', hint) : null);
}

/** A <select> of [value, text] pairs (or plain strings), with ``value`` selected. */
export function select(options, value, props = {}) {
  const el = h('select', props);
  for (const opt of options) {
    const [v, text] = Array.isArray(opt) ? opt : [opt, opt];
    el.append(h('option', { value: v, selected: String(v) === String(value ?? '') }, text));
  }
  return el;
}

/** A page heading with optional actions at its right. */
export function pageHeader(title, ...actions) {
  return h('div.page-head', h('h1', title), h('div.page-actions', actions));
}

/** An empty-state message inside a card. */
export function empty(text) {
  return h('p.empty', text);
}

// ---- formatting ----

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit',
  second: '2-digit' });
const dateFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric',
  month: 'short', year: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short',
  hour: '2-digit', minute: '2-digit' });

function asDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const d = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtTime(value) {
  const d = asDate(value);
  return d ? timeFmt.format(d) : '—';
}

export function fmtDate(value) {
  const d = asDate(value);
  return d ? dateFmt.format(d) : '—';
}

export function fmtDateTime(value) {
  const d = asDate(value);
  return d ? dateTimeFmt.format(d) : '—';
}

/** "12 s ago", "5 min ago", "3 h ago", else the date and time. */
export function ago(value) {
  const d = asDate(value);
  if (!d) return 'never';
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 2) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return fmtDateTime(d);
}

export function fmtBytes(n) {
  if (typeof n !== 'number') return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

export function fmtNum(n, digits = 1) {
  if (typeof n !== 'number' || Number.isNaN(n)) return '—';
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

/** "seconds" in words: 75 -> "1 min 15 s". */
export function fmtSeconds(s) {
  if (typeof s !== 'number') return '—';
  if (s < 60) return `${fmtNum(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** An event kind in words: "identity_matched" -> "identity matched". */
export function words(kind) {
  return String(kind || '').replace(/_/g, ' ');
}
