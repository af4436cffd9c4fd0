/**
 * One error for a whole invalid collector configuration, listing every problem with the user's
 * field name (`maxQueueSpans: must be at least maxBatchSpans (2000)`), not just the first.
 */
import type { z } from 'zod';

export class CollectorConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid collector configuration: ${problems.join('; ')}`);
    this.name = 'CollectorConfigError';
  }
}

/**
 * `defaults` overlaid with the fields of `given` that are not undefined, validated with `schema`;
 * throws `CollectorConfigError` naming each bad field.
 */
export function parseConfig<T extends object>(schema: z.ZodType<T>, defaults: T, given: Partial<T> = {}): T {
  const merged: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) merged[k] = v;
  const r = schema.safeParse(merged);
  if (r.success) return r.data;
  throw new CollectorConfigError(
    r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(config)'}: ${i.message}`),
  );
}
