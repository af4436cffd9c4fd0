/**
 * Tag filters of `/api/traces`, as jaeger-query parses them, plus logfmt (what users type into the
 * Jaeger UI and Grafana search boxes: `http.status_code=500 error=true`), accepted in `tags` when the
 * value is not JSON so a hand-written URL works too.
 */
import { BadRequestError } from './errors.js';

/** `tag=k:v` → split on the first `:`; the value keeps any further colons. */
export function parseTagParam(raw: string): [string, string] {
  const i = raw.indexOf(':');
  if (i <= 0) throw new BadRequestError("malformed 'tag' parameter, expecting key:value");
  return [raw.slice(0, i), raw.slice(i + 1)];
}

/** `tags={"k":"v"}` (JSON object of strings) or logfmt `k=v k2="v 2"`. */
export function parseTagsParam(raw: string): Record<string, string> {
  const trimmed = raw.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new BadRequestError(`malformed 'tags' parameter: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new BadRequestError("malformed 'tags' parameter, expecting a JSON object of strings");
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v === 'string') setTag(out, k, v);
      else if (typeof v === 'number' || typeof v === 'boolean') setTag(out, k, String(v));
      else throw new BadRequestError(`malformed 'tags' parameter: value of '${k}' must be a string`);
    }
    return out;
  }
  return parseLogfmt(trimmed);
}

/** Minimal logfmt: space-separated `key=value`, values optionally double-quoted with `\"` escapes. */
export function parseLogfmt(input: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const n = input.length;
  while (i < n) {
    while (i < n && input[i] === ' ') i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && input[i] !== '=' && input[i] !== ' ') i++;
    const key = input.slice(keyStart, i);
    if (!key || input[i] !== '=') {
      throw new BadRequestError(`malformed 'tags' parameter: expected key=value at '${input.slice(keyStart, keyStart + 20)}'`);
    }
    i++; // '='
    let value = '';
    if (input[i] === '"') {
      i++;
      while (i < n && input[i] !== '"') {
        if (input[i] === '\\' && i + 1 < n) i++;
        value += input[i++];
      }
      if (input[i] !== '"') throw new BadRequestError(`malformed 'tags' parameter: unterminated quote in value of '${key}'`);
      i++;
    } else {
      const valueStart = i;
      while (i < n && input[i] !== ' ') i++;
      value = input.slice(valueStart, i);
    }
    setTag(out, key, value);
  }
  return out;
}

/**
 * `out[key] = value` that also works for the key `__proto__`, which plain assignment turns into a
 * prototype change that a string value silently ignores: `tags={"__proto__":"x"}` was dropped
 * from the search instead of matching an attribute of that name (found by fuzzing).
 */
function setTag(out: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}
