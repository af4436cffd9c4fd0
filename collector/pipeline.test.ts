import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from './otlp/errors.js';
import { payloadHttpAnswer, QueueFullError, STORAGE_RETRY_AFTER_SECONDS, STORAGE_UNAVAILABLE, StorageRefusedError } from './pipeline.js';

describe('payloadHttpAnswer', () => {
  it('answers 400 for an invalid body, 503 + its Retry-After when full, 503 + the storage Retry-After (logged, no internals) on a storage failure', () => {
    const logged: unknown[] = [];
    const logger = { error: (obj: object) => { logged.push(obj); } };
    expect(payloadHttpAnswer(new InvalidRequestError('bad json'), logger)).toEqual({ status: 400, message: 'bad json' });
    expect(payloadHttpAnswer(new QueueFullError('queue full', 3), logger)).toEqual({ status: 503, retryAfterSeconds: 3, message: 'queue full' });
    expect(logged).toEqual([]);
    const disk = new Error('SQLITE_FULL: database or disk is full');
    expect(payloadHttpAnswer(disk, logger)).toEqual({ status: 503, retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS, message: STORAGE_UNAVAILABLE });
    expect(logged).toEqual([{ err: disk }]);
  });

  it('answers a refusal its writer already reports (StorageRefusedError) like any storage failure, without logging it again', () => {
    const logged: unknown[] = [];
    const logger = { error: (obj: object) => { logged.push(obj); } };
    const refused = new StorageRefusedError('storage refuses writes (SQLITE_FULL: database or disk is full)');
    expect(payloadHttpAnswer(refused, logger)).toEqual({ status: 503, retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS, message: STORAGE_UNAVAILABLE });
    expect(logged).toEqual([]);
  });
});
