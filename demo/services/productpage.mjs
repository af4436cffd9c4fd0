/**
 * productpage: the shop's front end (Bookinfo's `productpage`). Calls details and reviews (whose
 * three versions the sidecar balances round-robin; requests with `end-user: jason`, forwarded
 * like the trace headers, are routed to v2 by demo/mesh.json) and renders the result.
 *   GET /                           → redirect to /productpage
 *   GET /productpage?id=N           → HTML page
 *   GET /api/v1/products            → JSON list
 *   GET /api/v1/products/:id        → JSON: details + reviews
 */
import { trace } from '@opentelemetry/api';
import { call, inSpan, serve, work } from './bookshop.mjs';

/** Where the meshtrace UI is, for a link to each page's own trace (unset: no link). */
const TRACE_UI = process.env.BOOKSHOP_TRACE_UI?.replace(/\/+$/, '');

const PRODUCTS = [
  { id: 0, title: 'The Comedy of Errors' },
  { id: 1, title: 'A Midsummer Night\u2019s Dream' },
  { id: 2, title: 'The Tempest' },
];

/** details and reviews in parallel; a failing backend becomes an error field, as in Bookinfo. */
async function product(id, req) {
  const settle = (p, what) => p.then(
    (r) => (r.status === 200 ? r.body : { error: `Sorry, ${what} are currently unavailable (HTTP ${r.status}).` }),
    () => ({ error: `Sorry, ${what} are currently unavailable.` }),
  );
  const [details, reviews] = await Promise.all([
    settle(call('details', `/details/${id}`, req), 'product details'),
    settle(call('reviews', `/reviews/${id}`, req), 'product reviews'),
  ]);
  return { id, title: PRODUCTS[id].title, details, reviews };
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(p, traceId) {
  const d = p.details;
  const stars = (r) => !r ? '' : r.error
    ? `<p class="err">${esc(r.error)}</p>`
    : `<p style="color:${r.color === 'red' ? '#c0392b' : '#111'};font-size:1.4em">${'\u2605'.repeat(r.stars)}${'\u2606'.repeat(5 - r.stars)}</p>`;
  const reviews = p.reviews.error
    ? `<p class="err">${esc(p.reviews.error)}</p>`
    : p.reviews.reviews.map((r) => `<blockquote><p>${esc(r.text)}</p><small>\u2014 ${esc(r.reviewer)}</small>${stars(r.rating)}</blockquote>`).join('')
      + `<p class="muted">served by reviews ${esc(p.reviews.version)}</p>`;
  const details = d.error ? `<p class="err">${esc(d.error)}</p>` : `<dl>${['author', 'year', 'type', 'pages', 'publisher', 'language', 'isbn10'].map((k) => `<dt>${k}</dt><dd>${esc(d[k])}</dd>`).join('')}</dl>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>Bookshop \u2014 ${esc(p.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}.cols{display:flex;gap:3em}
.cols>div{flex:1}dt{font-weight:bold}.err{color:#c0392b}.muted{color:#888;font-size:.9em}nav a{margin-right:1em}</style></head>
<body><nav>${PRODUCTS.map((x) => `<a href="/productpage?id=${x.id}">${esc(x.title)}</a>`).join('')}</nav>
<h1>${esc(p.title)}</h1><div class="cols"><div><h2>Book details</h2>${details}</div><div><h2>Book reviews</h2>${reviews}</div></div>
<p class="muted">Reload to see reviews v1 (no stars), v2 (black stars) and v3 (red stars) take turns. Signed in as jason (header <code>end-user: jason</code>), a route in the sidecar's mesh config (demo/mesh.json) always picks v2.</p>
${TRACE_UI && traceId ? `<p><a href="${esc(`${TRACE_UI}/trace/${traceId}`)}">This request\u2019s trace in meshtrace \u2192</a></p>` : ''}</body></html>`;
}

function productId(raw) {
  const id = Number(raw ?? 0);
  return Number.isInteger(id) && id >= 0 && id < PRODUCTS.length ? id : undefined;
}

serve([
  ['GET', /^\/$/, '/', async () => ({ status: 302, headers: { location: '/productpage' }, body: 'see /productpage' })],
  ['GET', /^\/productpage$/, '/productpage', async ({ req, url }) => {
    const id = productId(url.searchParams.get('id') ?? undefined);
    if (id === undefined) return { status: 404, body: 'no such product' };
    const p = await product(id, req);
    const traceId = trace.getActiveSpan()?.spanContext().traceId;
    const html = await inSpan('render', { 'bookshop.template': 'productpage.html' }, async () => {
      await work(1, 6);
      return page(p, traceId);
    });
    return { type: 'text/html; charset=utf-8', body: html };
  }],
  ['GET', /^\/api\/v1\/products$/, '/api/v1/products', async () => ({ body: PRODUCTS })],
  ['GET', /^\/api\/v1\/products\/(?<id>\d+)$/, '/api/v1/products/{id}', async ({ req, params }) => {
    const id = productId(params.id);
    if (id === undefined) return { status: 404, body: { error: `no product ${params.id}` } };
    return { body: await product(id, req) };
  }],
]);
