// "Add this face to…": a dialog to choose an enrolled person or type a new name, start the
// enrolment job (from an event's track or a clip's track) and follow its progress.

import { api, apiPath, followJob } from './api.js';
import { errorLine, field, h, jobProgress } from './dom.js';

let listCount = 0;

/**
 * Open the dialog. ``what`` says what is being enrolled ("track 8 of door, 10:47:11");
 * ``start(name)`` sends the request and resolves with the job (202 answer).
 * Resolves with the job's result when it is done, or null when the dialog was closed first.
 */
export function enrolDialog(what, start) {
  listCount += 1;
  const listId = `people-list-${listCount}`;
  const names = h('datalist', { id: listId });
  const input = h('input', { id: 'enrol-name', name: 'name', required: true, maxLength: 200,
    autocomplete: 'off', list: listId, placeholder: 'Choose someone or type a new name' });
  const error = errorLine();
  const progress = jobProgress('Enrolling');
  progress.el.hidden = true;
  const done = h('p.ok', { id: 'enrol-done', role: 'status', hidden: true });
  const submit = h('button.btn.btn-primary', { type: 'submit', id: 'enrol-submit' }, 'Add');
  const close = h('button.btn', { type: 'button', id: 'enrol-close' }, 'Close');
  const form = h('form.dialog-body', { method: 'dialog' },
    h('h2', 'Add this face to…'),
    h('p.muted', what),
    field('Person', input, 'An enrolled person gets more examples; a new name is enrolled.'),
    names, error.el, progress.el, done,
    h('div.row-end', close, submit));
  const dialog = h('dialog.dialog', { id: 'enrol-dialog' }, form);
  document.body.append(dialog);

  const controller = new AbortController();
  let result = null;
  const finished = new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      controller.abort();
      dialog.remove();
      resolve(result);
    });
  });
  close.addEventListener('click', () => dialog.close());

  api('people', { signal: controller.signal }).then((data) => {
    for (const p of data.items || []) names.append(h('option', { value: p.name }));
  }).catch(() => {}); // the list only helps typing; a name can still be typed

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = input.value.trim();
    if (!name) return;
    error.clear();
    done.hidden = true;
    submit.disabled = true;
    input.disabled = true;
    progress.el.hidden = false;
    try {
      const job = await start(name);
      result = await followJob(job, progress.update, { signal: controller.signal });
      const added = result && typeof result.added === 'number' ? result.added : '?';
      done.replaceChildren(`Added ${added} example${added === 1 ? '' : 's'} to `,
        h('a', { href: `#/people/${encodeURIComponent(result.name || name)}`,
          id: 'enrol-person-link' }, result.name || name),
        result.new_person ? ' (newly enrolled).' : '.');
      done.hidden = false;
      submit.hidden = true;
      close.textContent = 'Done';
      close.focus();
    } catch (err) {
      if (err.name === 'AbortError') return;
      error.set(err);
      progress.el.hidden = true;
      submit.disabled = false;
      input.disabled = false;
    }
  });

  dialog.showModal();
  input.focus();
  return finished;
}

/** Start enrolling the track of event ``eventId`` under ``name`` (a job). */
export function fromEvent(eventId) {
  return (name) => api(apiPath('people', name, 'examples', 'from-event'), { method: 'POST',
    json: { event_id: eventId } });
}

/** Start enrolling track ``trackId`` of clip ``key`` under ``name`` (a job). */
export function fromClip(key, trackId) {
  return (name) => api(apiPath('people', name, 'examples', 'from-clip'), { method: 'POST',
    json: { clip: key, track_id: trackId } });
}
