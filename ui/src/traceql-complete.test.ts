import { describe, expect, it } from 'vitest';
import { applyCompletion, completionAt, nameSuggestions, valueSuggestions } from './traceql-complete.js';

const names = { span: ['http.method', 'http.route'], resource: ['service.name'], intrinsic: ['duration', 'name', 'status'] };

describe('TraceQL autocomplete', () => {
  it('completes attribute and intrinsic names inside a spanset', () => {
    const text = '{ span.http.';
    const ctx = completionAt(text, text.length);
    expect(ctx).toEqual({ kind: 'name', prefix: 'span.http.', from: 2, to: 12 });
    expect(nameSuggestions(names, ctx!.kind === 'name' ? ctx!.prefix : '')).toEqual(['span.http.method', 'span.http.route']);
    expect(nameSuggestions(names, 'st')).toEqual(['status']);
    expect(nameSuggestions(names, '.s')).toEqual(['.service.name']);
    expect(completionAt('{ .a = 1 } ', 11)).toBeNull(); // outside braces
    expect(completionAt('{ duration > 10', 15)).toBeNull(); // a number
  });

  it('completes values after a comparison, quoting strings and not keywords', () => {
    const text = '{ span.http.method = "PO';
    const ctx = completionAt(text, text.length);
    expect(ctx).toEqual({ kind: 'value', tag: 'span.http.method', prefix: 'PO', quoted: true, from: 21, to: 24 });
    const s = valueSuggestions([{ type: 'string', value: 'POST' }, { type: 'string', value: 'GET' }], ctx as never);
    expect(s).toEqual([{ label: 'POST', insert: '"POST"' }]);
    expect(applyCompletion(text + '"', ctx!, '"POST"')).toEqual({ text: '{ span.http.method = "POST"', cursor: 27 });
    const kw = completionAt('{ status = ', 11);
    expect(kw).toMatchObject({ kind: 'value', tag: 'status', prefix: '', quoted: false });
    expect(valueSuggestions([{ type: 'keyword', value: 'error' }], kw as never)).toEqual([{ label: 'error', insert: 'error' }]);
  });
});
