/**
 * reviews: two reviews per book (Bookinfo's `reviews`). SERVICE_VERSION picks the behaviour:
 * v1 shows no stars, v2 black stars, v3 red stars; v2 and v3 call ratings. GET /reviews/:id → JSON.
 */
import { trace } from '@opentelemetry/api';
import { call, inSpan, service, serve, work } from './bookshop.mjs';

const STARS = { v1: undefined, v2: 'black', v3: 'red' };
const color = STARS[service.version];
const TEXT = [
  ['Reviewer1', 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!'],
  ['Reviewer2', 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.'],
];

serve([
  ['GET', /^\/reviews\/(?<id>\d+)$/, '/reviews/{id}', async ({ req, params }) => {
    trace.getActiveSpan()?.setAttribute('reviews.version', service.version);
    const texts = await inSpan('db lookup', { 'db.system.name': 'memory', 'db.operation.name': 'SELECT', 'db.collection.name': 'reviews' }, () => work(2, 10).then(() => TEXT));
    let ratings;
    let ratingsError;
    if (color) {
      const r = await call('ratings', `/ratings/${params.id}`, req).catch((err) => ({ status: 0, body: { error: err.message } }));
      if (r.status === 200) ratings = r.body.ratings;
      else ratingsError = 'Ratings service is currently unavailable';
    }
    const reviews = texts.map(([reviewer, text]) => ({
      reviewer,
      text,
      ...(color ? { rating: ratings ? { stars: ratings[reviewer], color } : { error: ratingsError } } : {}),
    }));
    return { body: { id: Number(params.id), version: service.version, reviews } };
  }],
]);
