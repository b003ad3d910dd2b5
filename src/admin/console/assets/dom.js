// Building the page from API data: text only ever goes in as textContent (never innerHTML), so nothing an API
// answer holds (a block's reason, a pasted header's claims) can become markup.

/** `<tag>` with attributes (`class`, `title`, `type`, ...) and children (nodes, or strings as they are). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

/** A value as text: absent values as an em dash, objects as JSON. */
export function text(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** An ISO 8601 time as the operator's local date and time (the ISO text stays in the tooltip). */
export function time(iso) {
  if (!iso) return el('span', {}, '—');
  const d = new Date(iso);
  return el('time', { datetime: iso, title: iso }, Number.isNaN(d.getTime()) ? iso : d.toLocaleString());
}

/** A `<table>` of `rows`, one column per `[heading, cell(row)]`. */
export function table(columns, rows) {
  const head = el('tr', {}, ...columns.map(([heading]) => el('th', {}, heading)));
  const body = rows.map((row) => el('tr', {}, ...columns.map(([, cell]) => el('td', {}, cell(row)))));
  return el('table', {}, el('thead', {}, head), el('tbody', {}, ...body));
}

/** Shows `message` in an error line (an empty message hides it). */
export function showError(node, message) {
  node.textContent = message ?? '';
}
