// Traceback: a pasted Identity header (or a whole INVITE) -> `POST /v1/traceback/identity` (text/plain): the
// decoded PASSporT (RFC 8225 header and claims) and the calls on record for it (docs/traceback.md).
import { call } from './api.js';
import { el, showError, table, text, time } from './dom.js';

/** How the records were found (`IdentityMatch`, src/traceback/identity-lookup.ts). */
const MATCHED_BY = {
  digest: 'matched by the PASSporT itself (its digest)',
  claims: 'matched by its claims (origid, numbers, iat)',
  none: 'nothing matched',
};

export function tracebackPane(section) {
  const form = section.querySelector('#traceback-form');
  const error = section.querySelector(':scope > .error');
  const result = section.querySelector('#traceback-result');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(error, '');
    result.replaceChildren();
    const pasted = form.elements.identity.value.trim();
    try {
      result.replaceChildren(...answerView(await call('POST', '/v1/traceback/identity', pasted)));
    } catch (err) {
      showError(error, err.message);
    }
  });
}

function answerView(answer) {
  const p = answer.passport;
  const nodes = [
    el('h3', {}, 'PASSporT'),
    table(
      [
        ['Part', (r) => r[0]],
        ['Field', (r) => r[1]],
        ['Value', (r) => text(r[2])],
      ],
      [
        ...Object.entries(p.header ?? {}).map(([k, v]) => ['header', k, v]),
        ...Object.entries(p.claims ?? {}).map(([k, v]) => ['claims', k, v]),
        ['Identity', 'info', p.info],
        ['Identity', 'ppt', p.ppt],
        ['digest', 'SHA-256', p.digest],
      ],
    ),
  ];
  if (answer.unsearchable) nodes.push(el('p', { class: 'warning' }, answer.unsearchable.message));
  const how = MATCHED_BY[answer.matchedBy] ?? text(answer.matchedBy);
  const count = answer.records.length;
  const more = answer.truncated ? ' (more not shown)' : '';
  nodes.push(el('h3', {}, `${count} ${count === 1 ? 'call' : 'calls'} on record: ${how}${more}`));
  nodes.push(recordsTable(answer.records));
  return nodes;
}

function recordsTable(records) {
  return table(
    [
      ['Time', (r) => time(r.time)],
      ['Customer', (r) => text(r.customer)],
      ['Trunk', (r) => `${r.trunk} (${r.trunkRole})`],
      ['Source', (r) => `${r.source.address}:${r.source.port} ${r.source.transport}`],
      ['Calling', (r) => text(r.calling.received)],
      ['Called', (r) => text(r.called.received)],
      ['Attestation', (r) => text(r.signed?.attest ?? r.verified?.attest)],
      ['Verstat', (r) => text(r.verified?.verstat)],
      [
        'Refused',
        (r) => (r.refused ? `${r.refused.status} ${r.refused.cause} ${r.refused.detail ?? ''}`.trim() : '—'),
      ],
      ['Call-ID', (r) => r.callId],
    ],
    records,
  );
}
