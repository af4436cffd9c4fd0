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

/** The receiver settings that name a port. */
export type ReceiverPortSetting = 'otlpHttpPort' | 'otlpGrpcPort' | 'zipkinPort';

/**
 * A receiver could not listen on its port (in use, or not allowed). Carries the setting that chose
 * the port, so the CLI can name the flag to change instead of printing a socket stack trace.
 */
export class ListenError extends Error {
  constructor(
    readonly setting: string,
    readonly host: string,
    readonly port: number,
    cause: unknown,
  ) {
    super(`cannot listen on ${host}:${port}: ${listenFailureReason(cause)}`, { cause });
    this.name = 'ListenError';
  }
}

/** Plain words for why a listen failed; gRPC reports the socket error only inside its message. */
export function listenFailureReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const text = `${code ?? ''} ${(err as Error | undefined)?.message ?? String(err)}`;
  if (text.includes('EADDRINUSE')) return 'the port is already in use (is another meshtrace, Jaeger or collector running?)';
  if (text.includes('EACCES')) return 'permission denied (ports below 1024 need privileges)';
  if (text.includes('EADDRNOTAVAIL')) return 'the address is not available on this machine';
  return (err as Error | undefined)?.message ?? String(err);
}
