// An evidence clip in the page: the video (the server answers range requests, so it seeks), what
// the clip shows (its alerts and tracks) and, for operators, "add track N to…".

import { api, can, clipUrl } from './api.js';
import { errorLine, fmtNum, fmtTime, h, words } from './dom.js';
import { enrolDialog, fromClip } from './enrol.js';

/** A panel playing clip ``key``; it stops loading when ``signal`` aborts. */
export function clipPanel(key, signal, { autoplay = true } = {}) {
  const video = h('video.clip-video', { controls: true, preload: 'auto', playsInline: true,
    muted: true, src: clipUrl('video', key), dataset: { clip: key } });
  const error = errorLine();
  video.addEventListener('error', () => {
    error.set('This clip cannot be played here (it may have been deleted or is still being ' +
      'written); try again in a few seconds.');
  });
  const details = h('div.clip-details', h('p.muted', 'Loading the clip’s details…'));
  const panel = h('div.clip-panel', video, error.el, details);
  if (autoplay) video.play().catch(() => {}); // the browser may want a click first
  signal.addEventListener('abort', () => {
    video.pause();
    video.removeAttribute('src');
    video.load();
  });

  api(clipUrl('meta', key), { signal }).then((meta) => {
    details.replaceChildren(...describe(meta, key));
  }).catch((err) => {
    if (err.name === 'AbortError') return;
    details.replaceChildren(h('p.error', err.message));
  });
  return panel;
}

function describe(meta, key) {
  const span = typeof meta.start_s === 'number' && typeof meta.end_s === 'number'
    ? `${fmtNum(meta.end_s - meta.start_s)} s, ${meta.frames ?? '?'} frames` : '';
  const out = [h('p.muted', `${meta.camera || ''} · ${span} · `,
    h('a', { href: clipUrl('video', key), download: '' }, 'download'))];
  const alerts = meta.alerts || [];
  if (alerts.length) {
    out.push(h('p', h('strong', 'Alerts: '), alerts.map((a, i) => [i ? '; ' : '',
      `${words(a.reason)} at ${fmtTime(a.wall_time)}`,
      a.person ? ` (${a.person})` : a.track_id >= 0 ? ` (track ${a.track_id})` : ''])));
  }
  const tracks = meta.tracks || [];
  if (tracks.length) {
    const list = h('ul.chips.clip-tracks');
    for (const t of tracks) {
      const label = `track ${t.track_id} · ${t.frames} frames`;
      if (can('operator')) {
        list.append(h('li', h('button.chip', { type: 'button', title: 'Add this track’s face ' +
          'to a person', onclick: () => enrolDialog(`Track ${t.track_id} of this clip`,
          fromClip(key, t.track_id)) }, `${label} · add to…`)));
      } else {
        list.append(h('li.chip', label));
      }
    }
    out.push(h('p', h('strong', 'Tracks in this clip:')), list);
  }
  return out;
}
