// The one way the dashboard talks to the server: JSON in and out, the session's CSRF token on
// every request that changes something, and errors as the server's one line ({"error": ...}).

const RANK = { viewer: 0, operator: 1, admin: 2 };

/** Who is logged in ({name, role, csrf}) or null. The CSRF token lives in memory only; after
 * a reload it comes back from /api/auth/me. */
export const session = { user: null };

let onUnauthorized = null;

/** Called when a request answers 401 (the session ended): the app shows the login form. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** True when the logged-in user's role is at least ``role``. */
export function can(role) {
  return session.user !== null && RANK[session.user.role] >= RANK[role];
}

/** A query string from an object: arrays repeat their key, empty values are left out. */
export function toQuery(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (v !== null && v !== undefined && v !== '') q.append(key, String(v));
    }
  }
  return q.toString();
}

/** ``/api/`` + the parts, each one URL-encoded (names may hold any character). */
export function apiPath(...parts) {
  return '/api/' + parts.map((p) => encodeURIComponent(String(p))).join('/');
}

/** A clip's key from its link (a path or s3:// URL): its last 3 parts without ``.mp4``. */
export function clipKey(link) {
  if (!link) return null;
  const parts = String(link).split('/').filter(Boolean);
  if (parts.length < 3) return null;
  return parts.slice(-3).join('/').replace(/\.mp4$/, '');
}

/** The URL of a clip's video or details; the key's slashes stay (the route takes a path). */
export function clipUrl(kind, key) {
  return `/api/clips/${kind}/` + key.split('/').map(encodeURIComponent).join('/');
}

/**
 * One API call. ``path`` is relative to /api/ unless it starts with "/". Options: method,
 * query (object), json (a body to send as JSON), form (FormData), signal.
 * Resolves with the parsed JSON answer; rejects with ApiError(status, the server's line).
 */
export async function api(path, { method = 'GET', query, json, form, signal } = {}) {
  let url = path.startsWith('/') ? path : '/api/' + path;
  const qs = toQuery(query);
  if (qs) url += (url.includes('?') ? '&' : '?') + qs;
  const headers = { Accept: 'application/json' };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  if (method !== 'GET' && session.user && session.user.csrf) {
    headers['X-CSRF-Token'] = session.user.csrf;
  }
  let resp;
  try {
    resp = await fetch(url, { method, headers, body, signal, credentials: 'same-origin' });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'the server does not answer; is facetrack still running?');
  }
  const type = resp.headers.get('content-type') || '';
  const data = type.includes('json') ? await resp.json().catch(() => null) : null;
  if (!resp.ok) {
    const line = data && typeof data.error === 'string' ? data.error
      : `${resp.status} ${resp.statusText || 'error'}`;
    if (resp.status === 401 && !url.startsWith('/api/auth/') && onUnauthorized) {
      onUnauthorized(line);
    }
    throw new ApiError(resp.status, line);
  }
  return data;
}

export async function login(name, password) {
  const user = await api('auth/login', { method: 'POST', json: { name, password } });
  session.user = { name: user.name, role: user.role, csrf: user.csrf };
  return session.user;
}

/** The current session from the cookie (after a reload), or null when there is none. */
export async function restore() {
  try {
    const me = await api('auth/me');
    session.user = { name: me.name, role: me.role, csrf: me.csrf };
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    session.user = null;
  }
  return session.user;
}

export async function logout() {
  try {
    await api('auth/logout', { method: 'POST' });
  } finally {
    session.user = null;
  }
}

const FINISHED = new Set(['done', 'failed', 'cancelled']);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll a job (as POST answered it) until it ends, calling ``onUpdate(job)`` on every answer.
 * Resolves with the job's result; rejects with its error when it failed or was cancelled.
 * ``signal`` (an AbortSignal) stops polling when the page goes away.
 */
export async function followJob(job, onUpdate, { signal, everyMs = 600 } = {}) {
  let current = job;
  for (;;) {
    onUpdate(current);
    if (FINISHED.has(current.state)) break;
    await sleep(everyMs);
    if (signal && signal.aborted) throw new DOMException('page left', 'AbortError');
    current = await api(apiPath('jobs', current.id), { signal });
  }
  if (current.state !== 'done') {
    throw new ApiError(0, current.error || `the job was ${current.state}`);
  }
  return current.result;
}
