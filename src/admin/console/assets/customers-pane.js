// Customers, live: calls per second against the customer's limit and concurrent calls against its maximum
// (`GET /v1/customers`, every second), and its refusals by cause (block, limit, destination, dno).
import { call } from './api.js';
import { el, showError, text } from './dom.js';
import { poller } from './poll.js';

const REFRESH_MS = 1_000;

export function customersPane(section) {
  const error = section.querySelector(':scope > .error');
  const rows = section.querySelector('tbody');
  const load = async () => {
    try {
      const { customers } = await call('GET', '/v1/customers');
      rows.replaceChildren(...customers.map(row));
      showError(error, '');
    } catch (err) {
      showError(error, `Customers: ${err.message}`);
    }
  };
  return poller(load, REFRESH_MS);
}

function row(c) {
  // Limits changed by an operator (PATCH /v1/customers/{name}/limits) rather than the configuration's.
  const overridden = c.overrides
    ? [' ', el('span', { class: 'tag', title: text(c.overrides) }, 'override')]
    : [];
  return el(
    'tr',
    { 'data-customer': c.name },
    el('td', {}, c.name, ...overridden),
    el('td', {}, gauge(c.live?.cps, c.limits?.cps, 1)),
    el('td', {}, gauge(c.live?.concurrent, c.limits?.max_concurrent, 0)),
    el('td', {}, refusals(c.refusals ?? {})),
  );
}

/** `value / limit` as numbers and a bar (a native <meter>: high past 80 % of the limit). */
function gauge(value, limit, digits) {
  const v = Number(value ?? 0);
  const shown = v.toFixed(digits);
  if (limit === null || limit === undefined) return el('span', { class: 'figure' }, `${shown} (no limit)`);
  const meter = el('meter', { min: 0, max: limit, high: limit * 0.8, optimum: 0, value: Math.min(v, limit) });
  return el('span', { class: 'figure' }, meter, ` ${shown} / ${limit}`);
}

function refusals(byCause) {
  const entries = Object.entries(byCause).filter(([, n]) => n > 0);
  if (entries.length === 0) return 'none';
  return entries.map(([cause, n]) => `${cause} ${n}`).join(', ');
}
