/** details: a book's bibliographic details (Bookinfo's `details`). GET /details/:id → JSON. */
import { chance, HttpError, inSpan, knobs, serve, work } from './bookshop.mjs';

const BOOKS = [
  { id: 0, title: 'The Comedy of Errors', author: 'William Shakespeare', year: 1595, type: 'paperback', pages: 200, publisher: 'PublisherA', language: 'English', isbn10: '1234567890' },
  { id: 1, title: 'A Midsummer Night\u2019s Dream', author: 'William Shakespeare', year: 1600, type: 'hardcover', pages: 176, publisher: 'PublisherB', language: 'English', isbn10: '0140707107' },
  { id: 2, title: 'The Tempest', author: 'William Shakespeare', year: 1611, type: 'paperback', pages: 224, publisher: 'PublisherC', language: 'English', isbn10: '0743482832' },
];

serve([
  ['GET', /^\/details\/(?<id>\d+)$/, '/details/{id}', async ({ params }) => {
    const book = await inSpan('db lookup', { 'db.system.name': 'memory', 'db.operation.name': 'SELECT', 'db.collection.name': 'books' }, async () => {
      await work(2, 12);
      if (chance(knobs.errorRate)) throw new HttpError(500, 'details: database connection reset');
      return BOOKS.find((b) => b.id === Number(params.id));
    });
    if (!book) throw new HttpError(404, `no book ${params.id}`);
    return { body: book };
  }],
]);
