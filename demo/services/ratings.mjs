/** ratings: star ratings per book (Bookinfo's `ratings`). GET /ratings/:id → JSON. Occasionally slow. */
import { chance, HttpError, inSpan, knobs, serve, work } from './bookshop.mjs';

const RATINGS = { 0: { Reviewer1: 5, Reviewer2: 4 }, 1: { Reviewer1: 4, Reviewer2: 3 }, 2: { Reviewer1: 3, Reviewer2: 5 } };

serve([
  ['GET', /^\/ratings\/(?<id>\d+)$/, '/ratings/{id}', async ({ params }) => {
    // The flaky version (demo: ratings v2, one call in five): 503 before any work. The reviews
    // sidecars retry 503s (demo/mesh.json), so the page still gets its stars; the trace shows both tries.
    if (chance(knobs.unavailableRate)) throw new HttpError(503, 'ratings: unavailable (flaky version)');
    const ratings = await inSpan('db lookup', { 'db.system.name': 'memory', 'db.operation.name': 'SELECT', 'db.collection.name': 'ratings' }, async (span) => {
      await work(3, 15);
      // The "occasional slow call" that makes a trace worth opening.
      if (chance(knobs.slowRate)) {
        span.setAttribute('bookshop.slow', true);
        await work(300, 700);
      }
      if (chance(knobs.errorRate)) throw new HttpError(500, 'ratings: storage timeout');
      return RATINGS[Number(params.id)];
    });
    if (!ratings) throw new HttpError(404, `no ratings for ${params.id}`);
    return { body: { id: Number(params.id), ratings } };
  }],
]);
