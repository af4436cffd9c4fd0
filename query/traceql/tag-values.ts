/**
 * Autocomplete for TraceQL: attribute names and values the store knows (TraceReader's optional
 * getTagNames/getTagValues) plus the intrinsics' fixed values, services and operation names.
 * Shared by the Tempo tag routes and the UI's query field.
 */
import { BadRequestError } from '../errors.js';
import type { QueryService } from '../trace-service.js';

/** Intrinsics a query may name (Tempo's `intrinsic` scope, restricted to what this subset supports). */
export function intrinsicTagNames(): string[] {
  return ['duration', 'kind', 'name', 'rootName', 'rootServiceName', 'status', 'traceDuration'];
}

export interface TagValue {
  /** Tempo's value types: `string` needs quotes in TraceQL, `keyword` does not (status, kind). */
  type: 'string' | 'keyword';
  value: string;
}

/** Most values one answer carries (operation names of every service can be many). */
export const MAX_TAG_VALUES = 1_000;
const MAX_TAG_LENGTH = 1_000;

const keywords = (values: string[]): TagValue[] => values.map((value) => ({ type: 'keyword', value }));
const strings = (values: Iterable<string>): TagValue[] =>
  [...new Set(values)].sort().slice(0, MAX_TAG_VALUES).map((value) => ({ type: 'string', value }));

/** Values of `tag` written as in TraceQL: `span.x`, `resource.x`, `.x`, or an intrinsic. */
export async function tagValues(query: QueryService, tag: string): Promise<TagValue[]> {
  if (tag.length > MAX_TAG_LENGTH) throw new BadRequestError(`unable to parse param 'tag': at most ${MAX_TAG_LENGTH} characters, got ${tag.length}`);
  const reader = query.reader;
  const services = () => reader.getServices();
  const operations = async () => {
    const out: string[] = [];
    for (const s of await services()) {
      for (const op of await reader.getOperations({ serviceName: s })) out.push(op.name);
      if (out.length > 10 * MAX_TAG_VALUES) break;
    }
    return out;
  };
  switch (tag) {
    case 'status': case 'span:status': return keywords(['error', 'ok', 'unset']);
    case 'kind': case 'span:kind': return keywords(['client', 'consumer', 'internal', 'producer', 'server', 'unspecified']);
    case 'rootServiceName': case 'trace:rootService': case 'resource.service.name': return strings(await services());
    case 'name': case 'span:name': case 'rootName': case 'trace:rootName': return strings(await operations());
    case 'duration': case 'traceDuration': case 'span:duration': case 'trace:duration': return [];
  }
  const values = (scope: 'span' | 'resource', key: string) => reader.getTagValues?.({ scope, key }) ?? Promise.resolve([]);
  if (tag.startsWith('span.')) return strings(await values('span', tag.slice(5)));
  if (tag.startsWith('resource.')) return strings(await values('resource', tag.slice(9)));
  const key = tag.startsWith('.') ? tag.slice(1) : tag;
  if (key === 'service.name') return strings(await services());
  return strings([...(await values('span', key)), ...(await values('resource', key))]);
}
