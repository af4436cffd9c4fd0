/**
 * TraceQL search benchmark (issue 16): a fixed set of 12 TraceQL queries — together every
 * comparison operator, &&, ||, !, nil, the spanset operators && and the structural > and >>,
 * count() and select() — against the synthetic store of the query scenario (1 M spans by default;
 * `MESHTRACE_BENCH_SPANS=10000000` for the 10 M), p50/p99 through the search engine on
 * the storage reader and through `/tempo/api/search` over HTTP, next to the baseline of the query
 * scenario (the trace row by id through its key, same database). The table names the index that
 * serves each query's candidates (query/traceql/plan.ts decides what is pushed down; the SQLite
 * search picks the most selective of those terms as the driver).
 * Target (issue 16): p99 < 200 ms for each query at 10 M spans.
 */
import { join } from 'node:path';
import { parseTraceQL } from '../../query/traceql/parser.js';
import { planCandidates } from '../../query/traceql/plan.js';
import { searchTraceQL } from '../../query/traceql/search.js';
import { TRACEQL_MAX_CANDIDATES, TRACEQL_MAX_SCAN_SPANS } from '../../query/limits.js';
import { operationsOf, prng, SERVICES, USER_IDS } from '../data/generator.js';
import { percentile, type BenchTable, type Scenario } from '../scenario.js';
import { withCpuProfile } from './support/profile.js';
import { median, num, profileDir, spread, timeCalls } from './support/stats.js';
import { benchSpanCount } from './query.js';
import { openQueryFixture } from './support/query-fixture.js';

const HOUR_US = 3_600_000_000;
const LIMIT = 20;
/** Time budget per query per phase and rep, ms; at least 20 calls are made. */
const BUDGET_MS = 6_000;

interface SearchCase {
  name: string;
  /** Operators the query exercises (the coverage column). */
  covers: string;
  /** A TraceQL query with fresh random parameters. */
  query: () => string;
}

/** The fixed set of 12 (parameters drawn per call: service, operation, user). */
export function searchCases(rnd: () => number): SearchCase[] {
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)];
  const svc = () => pick(SERVICES);
  const two = () => {
    const a = svc();
    let b = svc();
    while (b === a) b = svc();
    return [a, b];
  };
  return [
    { name: 'service + operation', covers: '= (intrinsic), && in a spanset', query: () => { const s = svc(); return `{ resource.service.name = "${s}" && name = "${pick(operationsOf(s))}" }`; } },
    { name: 'rare attribute', covers: '= (attribute)', query: () => `{ span.user.id = "user-${Math.floor(rnd() * USER_IDS)}" }` },
    { name: 'errors of a service', covers: 'status = error', query: () => `{ resource.service.name = "${svc()}" && status = error }` },
    { name: 'client errors (>=)', covers: '>=', query: () => `{ resource.service.name = "${svc()}" && span.http.response.status_code >= 404 }` },
    { name: 'not GET (!=)', covers: '!=', query: () => `{ resource.service.name = "${svc()}" && span.http.request.method != "GET" }` },
    { name: 'operation regex (=~)', covers: '=~', query: () => `{ resource.service.name = "${svc()}" && name =~ "(Get|List).*" }` },
    { name: 'db but not redis/mysql (!~, nil)', covers: '!~, != nil', query: () => `{ resource.service.name = "${svc()}" && span.db.system != nil && span.db.system !~ "redis|mysql" }` },
    { name: 'slow spans (>)', covers: '> on duration', query: () => `{ resource.service.name = "${svc()}" && duration > 45ms }` },
    { name: 'short traces (<, <=)', covers: '<, <= on traceDuration', query: () => `{ traceDuration < 2ms && duration <= 1ms && kind = server }` },
    { name: 'error below a service (>>)', covers: 'structural >>', query: () => `{ resource.service.name = "${svc()}" && kind = server } >> { status = error }` },
    { name: 'direct call (>)', covers: 'structural >, spanset &&', query: () => { const [a, b] = two(); return `{ resource.service.name = "${a}" && kind = client } > { resource.service.name = "${b}" && kind = server } && { span.customer.tier = "enterprise" }`; } },
    { name: 'count and select, ||, !', covers: '||, !, count(), select()', query: () => `{ resource.service.name = "${svc()}" && (span.db.system = "redis" || !(span.customer.tier = "free")) } | count() > 3 | select(span.http.route)` },
  ];
}

/** The SQLite index behind each pushed-down condition (storage/sqlite/schema.ts, search.ts). */
function indexesOf(query: string): string {
  const out = planCandidates(parseTraceQL(query)).narrowedBy.map((n) => {
    if (n.startsWith('service+operation')) return 'postings: service+operation term';
    if (n.startsWith('service ')) return 'postings: service term';
    if (n.startsWith('tag ')) return `postings: tag term ${n.slice(4).replace(/=.*$/, '=…')}`;
    // search.ts (SQLite): the range drives only when 16× rarer than the smallest term; otherwise
    // each candidate's duration is checked on its `traces` row (primary key).
    if (n === 'trace duration') return 'trace duration: traces_by_duration when far rarer than the terms, else the trace row';
    return 'postings: any-span term (time window)';
  });
  return [...new Set(out)].join('; ');
}

/** query/traceql/prefilter.ts: named only when the skeletons ruled candidates out in the run (they are given up otherwise). */
const SKELETONS = 'then span columns (skeletons: service, name, kind, status, duration, parent)';

/** A Markdown table cell must not contain a bare `|`. */
const escapePipes = (s: string) => s.replace(/\|/g, '\\|');

export const searchScenario: Scenario = {
  name: 'search',
  description:
    'TraceQL latency: 12 fixed queries (each operator and structural queries) at 1 M stored spans (MESHTRACE_BENCH_SPANS=10000000 for the target size), ' +
    'search engine on the storage reader and /tempo/api/search over HTTP, with the index serving each; baseline: the trace row by id.',
  async run(opts) {
    const spans = benchSpanCount(opts.quick);
    const reps = opts.reps;
    const n = opts.quick ? 5 : 100;
    const fx = await openQueryFixture(opts.tmpDir, spans);
    const { g } = fx;
    const rnd = prng(7);
    const cs = searchCases(rnd);
    const end = g.endUs;
    const start = end - HOUR_US;
    const results = new Map<string, { st50: number[]; st99: number[]; h50: number[]; h99: number[]; hits: number[]; inspected: number[]; ruledOut: number[]; early: number }>();
    const base50: number[] = [];
    const base99: number[] = [];
    const engine = (q: string) => searchTraceQL(g.storage.reader, parseTraceQL(q), {
      startUs: start, endUs: end, limit: LIMIT, maxScanSpans: TRACEQL_MAX_SCAN_SPANS, maxCandidates: TRACEQL_MAX_CANDIDATES,
    });
    const httpGet = (q: string) =>
      fx.httpGet(`/tempo/api/search?q=${encodeURIComponent(q)}&start=${Math.floor(start / 1e6)}&end=${Math.floor(end / 1e6)}&limit=${LIMIT}`);
    try {
      for (const c of cs) { await engine(c.query()); await httpGet(c.query()); } // warm-up
      for (let rep = 0; rep < reps; rep++) {
        const b = await timeCalls(n, async () => fx.lookup(Math.floor(rnd() * g.traces)));
        base50.push(percentile(b, 50));
        base99.push(percentile(b, 99));
        for (const c of cs) {
          const r = results.get(c.name) ?? { st50: [], st99: [], h50: [], h99: [], hits: [], inspected: [], ruledOut: [], early: 0 };
          let hits = 0;
          let inspected = 0;
          let ruledOut = 0;
          const st = await timeCalls(n, async () => {
            const res = await engine(c.query());
            hits += res.matches.length;
            inspected += res.inspectedTraces;
            ruledOut += res.skeletonRejected;
            if (res.stoppedEarly) r.early++;
          }, BUDGET_MS);
          const h = await timeCalls(n, () => httpGet(c.query()), BUDGET_MS);
          r.st50.push(percentile(st, 50));
          r.st99.push(percentile(st, 99));
          r.h50.push(percentile(h, 50));
          r.h99.push(percentile(h, 99));
          r.hits.push(hits / st.length);
          r.inspected.push(inspected / st.length);
          r.ruledOut.push(ruledOut / st.length);
          results.set(c.name, r);
        }
      }
      const dir = profileDir();
      if (dir) {
        for (const c of cs) {
          const file = join(dir, `search-${c.name.replace(/[^a-z0-9]+/gi, '-').replace(/-$/, '')}.cpuprofile`);
          await withCpuProfile(file, () => timeCalls(Math.min(n, 30), () => engine(c.query())));
        }
      }
    } finally {
      await fx.close();
    }
    const example = prng(7);
    const examples = new Map(searchCases(example).map((c) => [c.name, c.query()]));
    const rows = cs.map((c) => {
      const r = results.get(c.name)!;
      const q = examples.get(c.name)!;
      return [
        `${c.name}: \`${escapePipes(q)}\``,
        escapePipes(c.covers),
        median(r.ruledOut) > 0 ? `${indexesOf(q)}; ${SKELETONS}` : indexesOf(q),
        num(median(r.hits)),
        num(median(r.inspected)),
        num(median(r.ruledOut)),
        spread(r.st50),
        spread(r.st99),
        spread(r.h50),
        spread(r.h99),
        median(r.h99) < 200 && r.early === 0 ? 'yes' : r.early ? `no (${r.early} stopped early)` : 'no',
      ];
    });
    rows.unshift(['baseline: indexed lookup of the trace row by id', '', 'traces (trace_id unique index)', '1', '', '', spread(base50), spread(base99), '', '', '']);
    const table: BenchTable = {
      title: `TraceQL search latency at ${g.spans.toLocaleString('en-US')} spans (ms)`,
      columns: ['query (example parameters)', 'covers', 'candidates from', 'results/call', 'traces inspected/call', 'of which ruled out on skeletons', 'engine p50', 'engine p99', 'HTTP p50', 'HTTP p99', 'HTTP p99 < 200 ms'],
      rows,
      notes: [
        `${reps} rep(s) × up to ${n} calls per query with random service/operation/user (fewer when a query's calls exceed ${BUDGET_MS / 1000} s, at least 20); each cell is the median over reps (min–max).`,
        `The last hour of the 2 h of data, limit ${LIMIT} (Grafana's default); "engine" = query/traceql/search.ts on the storage reader, "HTTP" = /tempo/api/search through the real query app on 127.0.0.1.`,
        `"candidates from": the indexes the pushed-down conditions use (docs/search.md, "How a query runs"); the SQLite search drives with the most selective and filters with the others; "then span columns": candidates are first checked on their span skeletons (the spans' columns, no payload: query/traceql/prefilter.ts; given up after 32 candidates when it rules out under a quarter) and only the rest are read whole; conditions not listed are checked on the candidates' whole traces. Bounds: ${TRACEQL_MAX_CANDIDATES.toLocaleString('en-US')} candidate traces, ${TRACEQL_MAX_SCAN_SPANS.toLocaleString('en-US')} spans per search.`,
        'Target (issue 16): every query p99 < 200 ms at 10 M spans (MESHTRACE_BENCH_SPANS=10000000).',
      ],
    };
    return [table];
  },
};

export default searchScenario;
