// The dashboard's shell: session, login form, navigation by role and hash routing
// (#/live, #/events?kind=alert, #/people/NAME...). Each page is a module with
// ``render(view, ctx)``; ``ctx.signal`` aborts when the user leaves the page, which is where
// pages stop their timers and close their live streams.

import { ApiError, can, login, logout, restore, session, setUnauthorizedHandler } from './api.js';
import { errorLine, field, fill, h } from './dom.js';

const PAGES = [
  { path: 'live', title: 'Live', role: 'viewer', module: './pages/live.js', nav: true },
  { path: 'events', title: 'Events', role: 'viewer', module: './pages/events.js', nav: true },
  { path: 'people', title: 'People', role: 'viewer', module: './pages/people.js', nav: true },
  { path: 'people/*', title: 'Person', role: 'viewer', module: './pages/person.js' },
  { path: 'unknowns', title: 'Unknown faces', role: 'operator', module: './pages/unknowns.js',
    nav: true },
  { path: 'audience', title: 'Audience', role: 'viewer', module: './pages/audience.js',
    nav: true },
  { path: 'admin', title: 'Admin', role: 'admin', module: './pages/admin.js', nav: true },
  { path: 'settings', title: 'Settings', role: 'admin', module: './pages/settings.js',
    nav: true },
];
const HOME = '#/live';

const view = document.getElementById('view');
const nav = document.getElementById('nav');
const navToggle = document.getElementById('nav-toggle');
const whoami = document.getElementById('whoami');
let current = null; // the AbortController of the page on screen
let notice = null; // a line for the login form (why it is shown)

/** The hash as {path, params, query}: "#/people/Ann%20B?x=1" -> path "people/*". */
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  const parts = pathPart.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const path = parts.length > 1 ? `${parts[0]}/*` : (parts[0] || '');
  return { path, parts, params: parts.slice(1), query: new URLSearchParams(queryPart) };
}

/** Put ``query`` in the address without rendering the page again (filters, for links). */
function setQuery(query) {
  const { parts } = parseHash();
  const qs = new URLSearchParams(query).toString();
  const hash = '#/' + parts.map(encodeURIComponent).join('/') + (qs ? `?${qs}` : '');
  history.replaceState(null, '', hash);
}

function buildNav() {
  fill(nav, PAGES.filter((p) => p.nav && can(p.role)).map((p) =>
    h('a.nav-link', { href: `#/${p.path}`, dataset: { page: p.path } }, p.title)));
  fill(document.getElementById('whoami-name'), session.user.name,
    h('span.role', { class: `role-${session.user.role}` }, session.user.role));
}

function showChrome(loggedIn) {
  nav.hidden = !loggedIn;
  navToggle.hidden = !loggedIn;
  whoami.hidden = !loggedIn;
  document.body.classList.toggle('logged-out', !loggedIn);
  closeNav();
}

function closeNav() {
  nav.classList.remove('open');
  navToggle.setAttribute('aria-expanded', 'false');
}

function leavePage() {
  if (current) current.abort();
  current = null;
}

function showLogin() {
  leavePage();
  view.dataset.page = 'login';
  view.dataset.ready = 'login';
  showChrome(false);
  document.title = 'Log in · facetrack';
  const error = errorLine();
  if (notice) error.set(notice);
  notice = null;
  const name = h('input', { name: 'name', id: 'login-name', autocomplete: 'username',
    required: true, maxLength: 64 });
  const password = h('input', { name: 'password', id: 'login-password', type: 'password',
    autocomplete: 'current-password', required: true, maxLength: 1024 });
  const submit = h('button.btn.btn-primary', { type: 'submit', id: 'login-submit' }, 'Log in');
  const form = h('form.login-card.card', { id: 'login-form' },
    h('h1', 'Log in to facetrack'),
    field('Name', name), field('Password', password), error.el, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.clear();
    submit.disabled = true;
    try {
      await login(name.value.trim(), password.value);
      if (!parseHash().path || parseHash().path === 'login') history.replaceState(null, '', HOME);
      start();
    } catch (err) {
      error.set(err);
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  fill(view, h('div.login-wrap', form));
  name.focus();
}

function start() {
  showChrome(true);
  buildNav();
  route();
}

async function route() {
  if (!session.user) {
    showLogin();
    return;
  }
  const hash = parseHash();
  const page = PAGES.find((p) => p.path === hash.path);
  if (!page) {
    location.replace(HOME);
    return;
  }
  leavePage();
  closeNav();
  const controller = new AbortController();
  current = controller;
  for (const link of nav.querySelectorAll('.nav-link')) {
    const on = link.dataset.page === hash.path.replace('/*', '');
    link.classList.toggle('active', on);
    if (on) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${page.title} · facetrack`;
  if (!can(page.role)) {
    fill(view, h('div.card', h('h1', page.title),
      h('p.error', `This page needs the ${page.role} role (you are ${session.user.role}).`)));
    return;
  }
  fill(view, h('p.muted.boot', 'Loading…'));
  view.dataset.page = hash.path.replace('/*', '');
  delete view.dataset.ready; // set once the page has drawn its first data (tests wait on it)
  try {
    const module = await import(page.module);
    if (controller.signal.aborted) return;
    fill(view);
    await module.render(view, { params: hash.params, query: hash.query,
      signal: controller.signal, setQuery, navigate: (to) => { location.hash = to; } });
    if (!controller.signal.aborted) view.dataset.ready = view.dataset.page;
  } catch (err) {
    if (err && err.name === 'AbortError') return;
    if (controller.signal.aborted) return;
    console.error(err);
    view.dataset.ready = 'error';
    fill(view, h('div.card', h('h1', page.title),
      h('p.error', { role: 'alert' }, err instanceof ApiError ? err.message
        : `This page failed: ${err && err.message}`)));
  }
}

navToggle.addEventListener('click', () => {
  const open = !nav.classList.contains('open');
  nav.classList.toggle('open', open);
  navToggle.setAttribute('aria-expanded', String(open));
});

document.getElementById('logout').addEventListener('click', async () => {
  leavePage();
  try {
    await logout();
  } catch (err) {
    notice = `Logging out failed: ${err.message}`;
  }
  history.replaceState(null, '', '#/login');
  showLogin();
});

setUnauthorizedHandler((line) => {
  if (!session.user) return;
  session.user = null;
  notice = `Your session has ended (${line}); log in again.`;
  showLogin();
});

window.addEventListener('hashchange', () => {
  if (session.user) route();
});

(async () => {
  try {
    await restore();
  } catch (err) {
    notice = err.message;
  }
  if (session.user) start();
  else showLogin();
})();
