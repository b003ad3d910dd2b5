// Blocks: the active ones (`GET /v1/blocks`), a form to add one (`POST /v1/blocks`) and an Undo on each row
// (`DELETE /v1/blocks/{id}` with an optional reason) that takes it off the list at once and shows the removal.
// An error the API ties to a field (`error.path`) is shown next to that field.
import { call } from './api.js';
import { el, showError, text, time } from './dom.js';
import { poller } from './poll.js';

/** Blocks added elsewhere (the CLI, another operator) show up within this long. */
const REFRESH_MS = 5_000;

export function blocksPane(section) {
  const form = section.querySelector('#block-form');
  const listError = section.querySelector('#blocks-error');
  const rows = section.querySelector('#block-rows');
  const removed = section.querySelector('#removed');

  const load = async () => {
    try {
      const { blocks } = await call('GET', '/v1/blocks');
      // Not while an operator is typing the reason of an Undo: the next refresh catches up.
      if (rows.querySelector('.undo-form') === null) rows.replaceChildren(...blocks.map(row));
      showError(listError, '');
    } catch (err) {
      showError(listError, `Blocks: ${err.message}`);
    }
  };

  const row = (block) => {
    const [kind, value] = Object.entries(block.match)[0] ?? ['?', ''];
    const undoCell = el('td', {});
    const undo = el('button', { type: 'button', class: 'undo' }, 'Undo');
    undo.addEventListener('click', () => undoCell.replaceChildren(undoForm(block, undoCell, undo)));
    undoCell.append(undo);
    const cells = [
      `${kind} ${value}`,
      block.action,
      text(block.reason),
      text(block.ticket),
      block.expires ? time(block.expires) : 'never',
      text(block.actor),
      time(block.created),
    ];
    return el('tr', { 'data-block': block.id }, ...cells.map((c) => el('td', {}, c)), undoCell);
  };

  const undoForm = (block, cell, undo) => {
    const reason = el('input', { name: 'undo-reason', placeholder: 'reason (optional)' });
    const confirm = el('button', { type: 'submit' }, 'Remove');
    const cancel = el('button', { type: 'button' }, 'Cancel');
    const error = el('span', { class: 'field-error' });
    const f = el('form', { class: 'undo-form' }, reason, confirm, cancel, error);
    cancel.addEventListener('click', () => cell.replaceChildren(undo));
    f.addEventListener('submit', async (event) => {
      event.preventDefault();
      const why = reason.value.trim();
      try {
        const gone = await call(
          'DELETE',
          `/v1/blocks/${encodeURIComponent(block.id)}`,
          why ? { reason: why } : undefined,
        );
        cell.closest('tr')?.remove();
        removed.prepend(removal(gone));
      } catch (err) {
        showError(error, err.message);
      }
    });
    queueMicrotask(() => reason.focus());
    return f;
  };

  const removal = (block) => {
    const [kind, value] = Object.entries(block.match)[0] ?? ['?', ''];
    const r = block.removed ?? {};
    const why = r.reason ? `: ${r.reason}` : '';
    return el(
      'li',
      { 'data-block': block.id },
      `${kind} ${value} (${block.action}) removed by ${text(r.actor)} at `,
      time(r.time),
      why,
    );
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const e of form.querySelectorAll('[data-field]')) showError(e, '');
    const f = form.elements;
    const request = {
      match: { [f.kind.value]: f.value.value.trim() },
      action: f.action.value,
      reason: f.reason.value.trim(),
      ...(f.ticket.value.trim() ? { ticket: f.ticket.value.trim() } : {}),
      // datetime-local is the operator's local time; the API takes ISO 8601 with a zone.
      ...(f.expires.value ? { expires: new Date(f.expires.value).toISOString() } : {}),
    };
    try {
      await call('POST', '/v1/blocks', request);
      form.reset();
      await load();
    } catch (err) {
      showError(fieldError(form, err.path), err.message);
    }
  });

  return poller(load, REFRESH_MS);
}

/** The error line beside the field `path` names (`match.calling`, `/reason`, `expires`), else the form's own. */
function fieldError(form, path) {
  const field = String(path ?? '')
    .replace(/^[/$.]+/, '')
    .split(/[./[]/)[0];
  return (
    form.querySelector(`.field-error[data-field="${CSS.escape(field)}"]`) ??
    form.querySelector('p[data-field=""]')
  );
}
