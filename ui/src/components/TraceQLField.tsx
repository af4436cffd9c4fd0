/**
 * The TraceQL query field with autocomplete: attribute and intrinsic names while typing a field,
 * the store's values after `field =` (traceql-complete.ts decides which; the server supplies the
 * words). Keyboard: ↓/↑ move, Enter or Tab accepts, Escape closes; Enter with the list closed runs the query.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import {
  applyCompletion, completionAt, nameSuggestions, valueSuggestions, type CompletionContext, type TagNames,
} from '../traceql-complete.js';

interface Suggestion { label: string; insert: string }

export function TraceQLField({ value, onInput, onSubmit }: { value: string; onInput: (v: string) => void; onSubmit: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [names, setNames] = useState<TagNames | null>(null);
  const [values, setValues] = useState<Map<string, { type: string; value: string }[]>>(new Map());
  const [cursor, setCursor] = useState(value.length);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);

  useEffect(() => {
    const ac = new AbortController();
    api.traceqlTags(ac.signal).then(setNames, () => setNames({ span: [], resource: [], intrinsic: [] }));
    return () => ac.abort();
  }, []);

  const ctx: CompletionContext | null = useMemo(() => completionAt(value, cursor), [value, cursor]);
  const tag = ctx?.kind === 'value' ? ctx.tag : '';
  // Values of a tag are fetched once per tag and filtered locally while typing.
  useEffect(() => {
    if (!tag || values.has(tag)) return;
    const ac = new AbortController();
    api.traceqlTagValues(tag, ac.signal).then((v) => setValues((m) => new Map(m).set(tag, v)), () => undefined);
    return () => ac.abort();
  }, [tag]);

  const suggestions: Suggestion[] = useMemo(() => {
    if (!ctx || !names) return [];
    if (ctx.kind === 'name') return nameSuggestions(names, ctx.prefix).map((n) => ({ label: n, insert: n }));
    return valueSuggestions(values.get(ctx.tag) ?? [], ctx);
  }, [ctx, names, values]);
  const showList = open && suggestions.length > 0;

  const accept = (s: Suggestion) => {
    if (!ctx) return;
    const next = applyCompletion(value, ctx, s.insert);
    onInput(next.text);
    setCursor(next.cursor);
    setOpen(false);
    requestAnimationFrame(() => {
      input.current?.focus();
      input.current?.setSelectionRange(next.cursor, next.cursor);
    });
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (showList && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      e.preventDefault();
      setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : suggestions.length - 1)) % suggestions.length);
    } else if (showList && (e.key === 'Enter' || e.key === 'Tab')) {
      e.preventDefault();
      accept(suggestions[Math.min(active, suggestions.length - 1)]);
    } else if (e.key === 'Escape') {
      setOpen(false);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      onSubmit();
    }
  };
  const track = (el: HTMLInputElement) => setCursor(el.selectionStart ?? el.value.length);

  return (
    <div class="traceql-field">
      <input
        ref={input}
        name="q"
        value={value}
        spellcheck={false}
        autocomplete="off"
        placeholder='{ resource.service.name = "web" && status = error } >> { span.db.system = "postgres" }'
        aria-label="TraceQL query"
        aria-autocomplete="list"
        aria-expanded={showList}
        onInput={(e) => { onInput(e.currentTarget.value); track(e.currentTarget); setOpen(true); setActive(0); }}
        onKeyUp={(e) => { if (!['ArrowDown', 'ArrowUp', 'Enter', 'Tab', 'Escape'].includes(e.key)) track(e.currentTarget); }}
        onClick={(e) => { track(e.currentTarget); setOpen(true); }}
        onKeyDown={onKeyDown}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
      />
      {showList && (
        <ul class="suggestions" role="listbox" aria-label="Suggestions">
          {suggestions.map((s, i) => (
            <li key={s.label} role="option" aria-selected={i === active} class={i === active ? 'active' : ''}
              onMouseDown={(e) => { e.preventDefault(); accept(s); }}>
              {s.label}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
