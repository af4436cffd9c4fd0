import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseAllInOneConfig } from '../all-in-one/config.js';
import { standardAdjusters } from '../query/adjusters/index.js';
import { buildQueryApp } from '../query/app.js';
import { openSqliteStorage, type SqliteStorage } from '../storage/sqlite/index.js';
import { makeCallTrace, nowUs } from '../storage/testdata/fixtures.js';
import { TenantGuard, tenantGuardOf } from './tenancy.js';

describe('TenantGuard', () => {
  const guard = new TenantGuard({ header: 'x-tenant', tenants: ['acme', 'globex'] });

  it('accepts exactly one listed tenant, as sent (no case folding, no trimming)', () => {
    expect(guard.check(['acme'])).toEqual({ tenant: 'acme' });
    expect(guard.check([Buffer.from('globex')])).toEqual({ tenant: 'globex' });
    expect(guard.check(['ACME']).refusal).toMatchObject({ reason: 'unknown', message: 'unknown tenant "ACME" in header \'x-tenant\'' });
    expect(guard.check([' acme']).refusal?.reason).toBe('unknown');
  });

  it('refuses a missing, empty, repeated or unknown tenant, saying which (and echoing at most 64 characters)', () => {
    expect(guard.check(undefined).refusal).toEqual({ reason: 'missing', message: "missing tenant header 'x-tenant'" });
    expect(guard.check([]).refusal?.reason).toBe('missing');
    expect(guard.check(['']).refusal?.reason).toBe('missing');
    expect(guard.check(['acme', 'acme']).refusal).toEqual({ reason: 'multiple', message: "more than one tenant header 'x-tenant'" });
    expect(guard.check(['acme, globex']).refusal?.reason).toBe('unknown');
    const long = guard.check(['x'.repeat(10_000)]).refusal!;
    expect(long.message.length).toBeLessThan(120);
  });

  it('is off without tenants; refuses names unsafe as a directory or a ClickHouse identifier', () => {
    expect(tenantGuardOf({ header: 'x-tenant', tenants: [] })).toBeUndefined();
    for (const bad of ['../etc', 'a/b', 'Acme', 'team-a', '_x', 'a.b', '', 'x'.repeat(64)]) {
      expect(() => new TenantGuard({ header: 'x-tenant', tenants: [bad] })).toThrow(/not a valid name/);
    }
    expect(() => new TenantGuard({ header: 'x-tenant', tenants: ['a', 'a'] })).toThrow(/listed twice/);
    expect(() => new TenantGuard({ header: 'X Tenant', tenants: ['a'] })).toThrow(/header/);
    expect(() => new TenantGuard({ header: 'x-tenant-bin', tenants: ['a'] })).toThrow(/-bin/);
    expect(new TenantGuard({ header: 'x-scope-orgid', tenants: ['a', 'team_2'] }).tenants).toEqual(new Set(['a', 'team_2']));
  });
});

describe('--tenancy-header and --tenants', () => {
  it('are off by default; set from flags or the environment; the header lowercased', () => {
    expect(parseAllInOneConfig({})).toMatchObject({ tenancyHeader: 'x-tenant', tenants: [] });
    expect(parseAllInOneConfig({}, { MESHTRACE_TENANTS: 'acme, globex', MESHTRACE_TENANCY_HEADER: 'X-Scope-OrgID' })).toMatchObject({ tenancyHeader: 'x-scope-orgid', tenants: ['acme', 'globex'] });
    expect(parseAllInOneConfig({ tenants: 'acme' }, { MESHTRACE_TENANTS: 'globex' }).tenants).toEqual(['acme']);
  });

  it('name every bad value by its flag', () => {
    let err: unknown;
    try {
      parseAllInOneConfig({ tenants: 'acme,../x,acme', tenancyHeader: 'x tenant' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      "--tenancy-header (MESHTRACE_TENANCY_HEADER): must be a lowercase header name (letters, digits, '-'; not ending in '-bin') (got 'x tenant')",
      "--tenants (MESHTRACE_TENANTS): tenant '../x' is not a valid name: 1–63 characters of a–z, 0–9 and '_', starting with a letter or digit (got 'acme,../x,acme')",
      "--tenants (MESHTRACE_TENANTS): tenant 'acme' is listed twice (got 'acme,../x,acme')",
    ]);
  });
});

describe('query app with tenancy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshtrace-tenancy-'));
  const opened: SqliteStorage[] = [];
  afterAll(async () => {
    for (const s of opened) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes each tenant to its own store under every API prefix; refuses the rest there too', async () => {
    const stores = new Map<string, SqliteStorage>();
    for (const t of ['acme', 'globex']) {
      const s = await openSqliteStorage({ path: join(dir, `${t}.db`) });
      opened.push(s);
      await s.writer.writeSpans(makeCallTrace({ startTimeUs: nowUs() - 1_000_000, frontend: `${t}-web`, backend: `${t}-db` }));
      stores.set(t, s);
    }
    const guard = new TenantGuard({ header: 'x-tenant', tenants: ['acme', 'globex'] });
    const app = await buildQueryApp({
      tenancy: { guard, stores: new Map([...stores].map(([t, s]) => [t, { reader: s.reader, dependencies: s.dependencies, spanMetrics: s.spanMetrics }])) },
      adjusters: standardAdjusters({ maxClockSkewAdjustUs: 0 }),
      apiPrefixes: ['/jaeger'],
    });
    try {
      for (const prefix of ['', '/jaeger']) {
        for (const t of ['acme', 'globex']) {
          const r = await app.inject({ url: `${prefix}/api/services`, headers: { 'x-tenant': t } });
          expect(r.json().data).toEqual([`${t}-db`, `${t}-web`]);
        }
        const refused = await app.inject({ url: `${prefix}/api/services` });
        expect(refused.statusCode).toBe(401);
        expect(refused.json().errors[0].msg).toBe("missing tenant header 'x-tenant'");
        expect((await app.inject({ url: `${prefix}/health` })).statusCode).toBe(200);
      }
      // A valid tenant on a path no route has is still a 404.
      expect((await app.inject({ url: '/api/nothing', headers: { 'x-tenant': 'acme' } })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });
});
