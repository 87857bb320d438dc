// Live: every camera with its state (online badge, fps, drops, last frame) and, where the camera
// runs in this server's process, its annotated MJPEG stream. The figures refresh every 2 s in
// place; the streams are opened once and closed when the page is left (the server allows only
// api.max_streams at once).

import { api, apiPath } from '../api.js';
import { ago, empty, errorLine, fill, fmtNum, h, pageHeader, words } from '../dom.js';

const REFRESH_MS = 2000;

function badge(row) {
  const state = row.state || 'unknown';
  const cls = row.online ? 'badge-ok' : state === 'connecting' ? 'badge-warn' : 'badge-bad';
  return h('span.badge', { class: cls, dataset: { state } }, row.online ? 'online' : words(state));
}

/** The picture of a live camera: its MJPEG stream, or snapshots once a second when the stream
 * cannot be opened (e.g. every stream slot taken). */
function livePicture(name, signal) {
  const img = h('img.cam-img', { alt: `${name}, live`, decoding: 'async' });
  let timer = null;
  const snapshots = () => {
    if (signal.aborted) return;
    img.src = `${apiPath('cameras', name, 'snapshot.jpg')}?t=${Date.now()}`;
  };
  img.addEventListener('error', () => {
    if (signal.aborted) return;
    img.dataset.mode = 'snapshot';
    clearTimeout(timer);
    timer = setTimeout(snapshots, 1000);
  });
  img.addEventListener('load', () => {
    img.closest('.cam-frame')?.classList.add('has-picture');
    if (img.dataset.mode === 'snapshot') {
      clearTimeout(timer);
      timer = setTimeout(snapshots, 1000);
    }
  });
  signal.addEventListener('abort', () => {
    clearTimeout(timer);
    img.removeAttribute('src'); // closes the stream's connection
  });
  img.dataset.mode = 'stream';
  img.src = apiPath('cameras', name, 'stream.mjpg');
  return img;
}

function stat(label, value) {
  return h('div.stat', h('dt', label), h('dd', value));
}

function cameraCard(row, signal) {
  const frame = h('div.cam-frame');
  if (row.live) {
    frame.append(livePicture(row.camera, signal), h('span.cam-wait', 'waiting for a frame…'));
  } else {
    frame.append(h('span.cam-wait', row.monitor
      ? `runs in monitor ${row.monitor}; its own server shows it live`
      : 'no monitor has reported this camera'));
  }
  const stats = h('dl.stats');
  const head = h('div.card-head', h('h2', row.camera), badge(row));
  const card = h('article.card.cam-card', { dataset: { camera: row.camera } }, head, frame,
    stats);
  update(card, row);
  return card;
}

function update(card, row) {
  const head = card.querySelector('.card-head');
  head.replaceChild(badge(row), head.querySelector('.badge'));
  card.dataset.online = String(Boolean(row.online));
  const img = card.querySelector('.cam-img');
  if (img && img.naturalWidth > 0) card.querySelector('.cam-frame').classList.add('has-picture');
  fill(card.querySelector('.stats'),
    stat('fps in / out', `${fmtNum(row.fps_in)} / ${fmtNum(row.fps_out)}`),
    stat('dropped', row.dropped ?? '—'),
    stat('last frame', ago(row.last_frame || row.updated)),
    stat('monitor', row.monitor || '—'));
}

export async function render(view, { signal }) {
  const summary = h('span.muted', '');
  const error = errorLine();
  const grid = h('div.grid.cam-grid', { id: 'camera-grid' });
  view.append(pageHeader('Live', summary), error.el, grid);
  const cards = new Map();

  async function refresh() {
    let data;
    try {
      data = await api('cameras', { signal });
      error.clear();
    } catch (err) {
      if (err.name !== 'AbortError') error.set(err);
      return;
    }
    const rows = data.items || [];
    const online = rows.filter((r) => r.online).length;
    summary.textContent = `${rows.length} camera${rows.length === 1 ? '' : 's'} · ${online} online`;
    if (!rows.length && !grid.querySelector('.empty')) {
      fill(grid, empty('No cameras yet: add them under cameras: in the monitor config.'));
    }
    for (const row of rows) {
      const known = cards.get(row.camera);
      if (known && known.live === Boolean(row.live)) {
        update(known.card, row);
      } else {
        const card = cameraCard(row, signal);
        if (known) known.card.replaceWith(card);
        else grid.append(card);
        grid.querySelector('.empty')?.remove();
        cards.set(row.camera, { card, live: Boolean(row.live) });
      }
    }
  }

  await refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  signal.addEventListener('abort', () => clearInterval(timer));
}
