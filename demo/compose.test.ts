/**
 * docker-compose.yml without a Docker engine: the file is valid against the Compose
 * Specification's JSON schema (as shipped by the dclint package), its services are the demo's
 * topology, and every service's command is a real `meshtrace` verb whose flags the real CLI
 * parsers and config validators accept.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseAllInOneConfig } from '../all-in-one/config.js';
import { registerAllInOne } from '../cli/all-in-one.js';
import { registerDemo } from '../cli/demo.js';
import { registerInject } from '../cli/inject.js';
import { readMeshFile, registerMesh } from '../cli/mesh.js';
import { renderForService, validateMeshConfig } from '../control-plane/render.js';
import { configFromOptions, registerProxy } from '../cli/proxy.js';
import { parseLoadgenConfig } from './config.js';
import { BOOKSHOP, CANARY_CONFIG_FILE, MESH_CONFIG_FILE } from './topology.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, { command?: string[]; image?: string; build?: unknown; ports?: string[]; depends_on?: string[] | Record<string, { condition: string }>; profiles?: string[]; environment?: Record<string, string>; healthcheck?: { test: string[] } }>;
};

function composeSchema(): object {
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  // Ajv knows draft-07 by its canonical id (http://…#); the file names it https://… without '#'.
  delete schema.$schema;
  return schema;
}

interface Parsed { verb: string[]; opts: Record<string, unknown>; args: string[] }

/**
 * Parses argv with the real meshtrace CLI definition, but with every action replaced by one that
 * records what it got: unknown verbs and flags throw as they would for a user.
 */
async function parseCli(argv: string[]): Promise<Parsed> {
  const program = new Command('meshtrace').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  registerAllInOne(program);
  registerProxy(program);
  registerInject(program);
  registerDemo(program);
  registerMesh(program);
  let parsed: Parsed | undefined;
  const capture = (cmd: Command, path: string[]) => {
    cmd.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
    cmd.action((...a: unknown[]) => {
      const self = a[a.length - 1] as Command;
      parsed = { verb: path, opts: self.opts(), args: self.args };
    });
    for (const sub of cmd.commands) capture(sub, [...path, sub.name()]);
  };
  for (const c of program.commands) capture(c, [c.name()]);
  await program.parseAsync(argv, { from: 'user' });
  if (!parsed) throw new Error(`no verb ran for ${argv.join(' ')}`);
  return parsed;
}

/** The scale profile: ClickHouse, two stateless collectors, one query server. */
const SCALE = ['clickhouse', 'collector-1', 'collector-2', 'query'];

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(composeSchema());
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check is real: a broken file fails it', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(composeSchema());
    expect(validate({ services: { x: { image: 'a', ports: 'not-a-list', restart: 1, bogus: true } } })).toBe(false);
  });

  it('has the all-in-one server plus every bookshop instance and the load generator, all from one image', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['loadgen', 'mesh-config', 'meshtrace', ...BOOKSHOP.map((s) => s.id), ...SCALE].sort());
    expect(compose.services.meshtrace.build).toBe('.');
    for (const [name, s] of Object.entries(compose.services)) {
      if (name !== 'clickhouse') expect(s.image, name).toBe(compose.services.meshtrace.image);
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) expect(Object.keys(compose.services), `${name} depends_on ${d}`).toContain(d);
    }
    // Plain `docker compose up` stays the all-in-one server; the demo is a profile.
    expect(compose.services.meshtrace.profiles).toBeUndefined();
    for (const name of ['loadgen', 'mesh-config', ...BOOKSHOP.map((s) => s.id)]) expect(compose.services[name].profiles, name).toEqual(['demo']);
    expect(compose.services.meshtrace.ports).toEqual(expect.arrayContaining(['4318:4318', '16686:16686', '15010:15010']));
    expect(compose.services.productpage.ports).toEqual(['9080:9080', '15000:15000']);
    // A published admin port must be bound beyond the container's loopback (its default).
    expect(compose.services.productpage.command).toEqual(expect.arrayContaining(['--admin-host', '0.0.0.0']));
    // The image runs `node bin/meshtrace.js <command…>`, so each command is a meshtrace verb.
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^ENTRYPOINT \["node", "bin\/meshtrace\.js"\]$/m);
  });

  it('meshtrace runs `all-in-one` with valid flags', async () => {
    const p = await parseCli(compose.services.meshtrace.command!);
    expect(p.verb).toEqual(['all-in-one']);
    expect(() => parseAllInOneConfig(p.opts as Record<string, string>)).not.toThrow();
  });

  for (const svc of BOOKSHOP) {
    it(`${svc.id} runs its service through \`meshtrace inject\` with valid flags, registered with the control plane, no --upstream list`, async () => {
      const p = await parseCli(compose.services[svc.id].command!);
      expect(p.verb).toEqual(['inject']);
      const config = configFromOptions(p.opts);
      expect(config).toMatchObject({ service: svc.service, serviceVersion: svc.version, bindHost: '0.0.0.0', inboundPort: 9080, appPort: 9081, collector: 'http://meshtrace:4318' });
      // Endpoints come from the control plane: callers reach this instance by its compose name.
      expect(p.opts).toMatchObject({ controlPlane: 'http://meshtrace:15010', advertiseHost: svc.id, instanceId: svc.id });
      expect(p.opts.upstream).toBeUndefined();
      expect(p.opts.config).toBeUndefined();
      expect(config.upstreams).toEqual({});
      expect(p.args).toEqual(['node', `demo/services/${svc.script}`]);
      expect(existsSync(join(ROOT, p.args[1]))).toBe(true);
      expect(compose.services[svc.id].environment?.SERVICE_VERSION).toBe(svc.version);
    });
  }

  it('mesh-config applies demo/mesh.json, which is valid and routes productpage\'s calls to reviews', async () => {
    const p = await parseCli(compose.services['mesh-config'].command!);
    expect(p.verb).toEqual(['mesh', 'apply']);
    expect(p.opts).toMatchObject({ file: MESH_CONFIG_FILE, controlPlane: 'http://meshtrace:15010' });
    const mesh = readMeshFile(join(ROOT, MESH_CONFIG_FILE));
    expect(validateMeshConfig(mesh)).toEqual([]);
    const ep = (id: string, version: string) => ({ instance: id, version, address: `${id}:9080`, mtls: 'DISABLE' as const });
    const registry = {
      reviews: [ep('reviews-v1', 'v1'), ep('reviews-v2', 'v2'), ep('reviews-v3', 'v3')],
      details: [ep('details', 'v1')],
      ratings: [ep('ratings-v1', 'v1'), ep('ratings-v2', 'v2')],
    };
    const config = configFromOptions({ service: 'productpage', appPort: '1' }, {}, renderForService(mesh, 'productpage', registry));
    expect(config.routes.map((r) => r.name)).toEqual(['reviews-jason', 'reviews', 'details']);
    expect(config.upstreams['reviews']).toEqual([{ host: 'reviews-v1', port: 9080 }, { host: 'reviews-v2', port: 9080 }, { host: 'reviews-v3', port: 9080 }]);
    // The reviews sidecars route (and retry) ratings, both versions.
    const reviews = configFromOptions({ service: 'reviews', appPort: '1' }, {}, renderForService(mesh, 'reviews', registry));
    expect(reviews.routes.map((r) => r.name)).toEqual(['ratings']);
    expect(reviews.upstreams['ratings']).toEqual([{ host: 'ratings-v1', port: 9080 }, { host: 'ratings-v2', port: 9080 }]);
    expect(validateMeshConfig(readMeshFile(join(ROOT, CANARY_CONFIG_FILE)))).toEqual([]);
  });

  it('loadgen runs `demo loadgen` against the productpage sidecar', async () => {
    const p = await parseCli(compose.services.loadgen.command!);
    expect(p.verb).toEqual(['demo', 'loadgen']);
    const c = parseLoadgenConfig(p.opts);
    expect(new URL(c.target).host).toBe('productpage:9080');
  });

  it('the command check is real: an unknown flag or verb is refused', async () => {
    await expect(parseCli(['inject', '--servic', 'x', '--', 'node', 'a.mjs'])).rejects.toBeInstanceOf(CommanderError);
    await expect(parseCli(['all-in-one', '--data-dir'])).rejects.toBeInstanceOf(CommanderError);
    await expect(parseCli(['deploy'])).rejects.toBeInstanceOf(CommanderError);
  });

  it('the scale profile runs collectors and a query server on ClickHouse with valid flags, each with a healthcheck', async () => {
    for (const name of SCALE) {
      expect(compose.services[name].profiles, name).toEqual(['scale']);
      expect(compose.services[name].healthcheck?.test.length, name).toBeGreaterThan(1);
    }
    expect(compose.services.clickhouse.image).toMatch(/^clickhouse\/clickhouse-server:\d+\.\d+$/);
    for (const name of ['collector-1', 'collector-2', 'query']) {
      const s = compose.services[name];
      expect(s.depends_on, name).toEqual({ clickhouse: { condition: 'service_healthy' } });
      const p = await parseCli(s.command!);
      expect(p.verb).toEqual([name === 'query' ? 'query' : 'collector']);
      const c = parseAllInOneConfig(p.opts as Record<string, string>);
      expect(c).toMatchObject({ storage: 'clickhouse', clickhouseUrl: 'http://clickhouse:8123' });
    }
    // Distinct host ports, none taken by the all-in-one service.
    const ports = ['meshtrace', ...SCALE].flatMap((n) => (compose.services[n].ports ?? []).map((p) => p.split(':')[0]));
    expect(new Set(ports).size).toBe(ports.length);
    // A flag of the other role is refused: the collector has no query port, the query server no receivers.
    await expect(parseCli(['collector', '--query-port', '1'])).rejects.toBeInstanceOf(CommanderError);
    await expect(parseCli(['query', '--otlp-http-port', '1'])).rejects.toBeInstanceOf(CommanderError);
  });
});

