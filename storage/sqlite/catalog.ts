/**
 * Interned services, operations, resources and attribute keys, mirrored in memory so that the write path pays
 * nothing for names it has seen and listings never touch the spans table.
 *
 * `last_seen_us` is the latest span start seen, rounded UP to the next hour: it is always ≥ the
 * true latest start (so hiding an entry whose value is ≤ the retention watermark never hides
 * live data), and it is written at most once an hour per entry.
 *
 * Must be called inside the write transaction; after a failed transaction call `reload()` so
 * memory matches the database again.
 */
import type Database from 'better-sqlite3';
import type { Attribute, InstrumentationScope, Resource, SpanKind } from '../../model/span.js';
import { HOUR_US } from './schema.js';
import { decodeAttributes, encodeAttributes, type KeyDictionary } from './span-codec.js';
import { forEachAttributeTag, SERVICE_NAME_KEY, tagTerm } from './terms.js';

export interface ServiceEntry { id: number; name: string; lastSeenUs: number }
export interface OperationEntry { id: number; serviceId: number; name: string; kind: SpanKind; lastSeenUs: number }
export interface ResourceEntry {
  id: number;
  serviceName: string;
  attributes: Attribute[];
  scope: InstrumentationScope;
  /** Tag terms of the resource attributes, hashed once. */
  terms: number[];
  /** key → values in string form, for exact tag confirmation. */
  tags: Map<string, Set<string>>;
  lastSeenUs: number;
}

const ceilHour = (us: number): number => (Math.floor(us / HOUR_US) + 1) * HOUR_US;

export class Catalog implements KeyDictionary {
  private services = new Map<string, ServiceEntry>();
  private servicesById = new Map<number, ServiceEntry>();
  private ops = new Map<string, OperationEntry>();
  private opsById = new Map<number, OperationEntry>();
  private resources = new Map<string, ResourceEntry>();
  private resourcesById = new Map<number, ResourceEntry>();
  private keys = new Map<string, number>();
  private keysById = new Map<number, string>();
  /** Key number → its interned string values (see `internedValues`). */
  private pairValues = new Map<number, string[]>();
  /** Largest id of each table held in memory: rows above it are new (`syncNew`). */
  private maxIds = { key: 0, service: 0, operation: 0, resource: 0 };
  private readonly st;

  constructor(private readonly db: Database.Database) {
    this.st = {
      insService: db.prepare('INSERT INTO services (name, last_seen_us) VALUES (?, ?)'),
      seenService: db.prepare('UPDATE services SET last_seen_us = ? WHERE id = ?'),
      insOp: db.prepare('INSERT INTO operations (service_id, name, kind, last_seen_us) VALUES (?, ?, ?, ?)'),
      seenOp: db.prepare('UPDATE operations SET last_seen_us = ? WHERE id = ?'),
      insRes: db.prepare('INSERT INTO resources (data, last_seen_us) VALUES (?, ?)'),
      seenRes: db.prepare('UPDATE resources SET last_seen_us = ? WHERE id = ?'),
      insKey: db.prepare('INSERT INTO attr_keys (key) VALUES (?)'),
      seenServices: db.prepare('SELECT id, last_seen_us AS s FROM services'),
      // (service_id, …) is the prefix of the UNIQUE index: no scan of other services' operations.
      seenOpsOf: db.prepare('SELECT id, last_seen_us AS s FROM operations WHERE service_id = ?'),
      newKeys: db.prepare('SELECT id, key FROM attr_keys WHERE id > ?'),
      newServices: db.prepare('SELECT id, name, last_seen_us FROM services WHERE id > ?'),
      newOps: db.prepare('SELECT id, service_id, name, kind, last_seen_us FROM operations WHERE id > ?'),
      newResources: db.prepare('SELECT id, data, last_seen_us FROM resources WHERE id > ?'),
    };
    this.reload();
  }

  reload(): void {
    this.services.clear(); this.servicesById.clear();
    this.ops.clear(); this.opsById.clear();
    this.resources.clear(); this.resourcesById.clear();
    this.keys.clear(); this.keysById.clear(); this.pairValues.clear();
    this.maxIds = { key: 0, service: 0, operation: 0, resource: 0 };
    this.syncNew();
  }

  /**
   * Loads the rows added since the last load — by another connection, e.g. the writer thread
   * when this catalog serves a read connection. Ids only grow and rows are never deleted, so
   * "id greater than the largest known" is exactly the new rows.
   */
  syncNew(): void {
    for (const r of this.st.newKeys.all(this.maxIds.key) as { id: number; key: string }[]) this.addKey(r.id, r.key);
    for (const r of this.st.newServices.all(this.maxIds.service) as { id: number; name: string; last_seen_us: number }[]) {
      this.addService({ id: r.id, name: r.name, lastSeenUs: r.last_seen_us });
    }
    for (const r of this.st.newOps.all(this.maxIds.operation) as
      { id: number; service_id: number; name: string; kind: number; last_seen_us: number }[]) {
      this.addOperation({ id: r.id, serviceId: r.service_id, name: r.name, kind: r.kind as SpanKind, lastSeenUs: r.last_seen_us });
    }
    for (const r of this.st.newResources.all(this.maxIds.resource) as { id: number; data: string; last_seen_us: number }[]) {
      this.addResource(r.data, resourceEntry(r.id, r.data, r.last_seen_us));
    }
  }

  private addKey(id: number, key: string): void {
    this.keys.set(key, id); this.keysById.set(id, key);
    if (key.startsWith('\u0001')) {
      // An interned (key, value) pair "\u0001<key number>\u0000<value>": indexed by key for autocomplete.
      const sep = key.indexOf('\u0000');
      const num = Number(key.slice(1, sep));
      let values = this.pairValues.get(num);
      if (!values) this.pairValues.set(num, (values = []));
      values.push(key.slice(sep + 1));
    }
    if (id > this.maxIds.key) this.maxIds.key = id;
  }

  private addService(e: ServiceEntry): void {
    this.services.set(e.name, e); this.servicesById.set(e.id, e);
    if (e.id > this.maxIds.service) this.maxIds.service = e.id;
  }

  private addOperation(e: OperationEntry): void {
    this.ops.set(opKey(e.serviceId, e.name, e.kind), e); this.opsById.set(e.id, e);
    if (e.id > this.maxIds.operation) this.maxIds.operation = e.id;
  }

  private addResource(data: string, e: ResourceEntry): void {
    this.resources.set(data, e); this.resourcesById.set(e.id, e);
    if (e.id > this.maxIds.resource) this.maxIds.resource = e.id;
  }

  /** Re-reads the services' `last_seen_us` (written by another connection). */
  syncServicesLastSeen(): void {
    for (const r of this.st.seenServices.all() as { id: number; s: number }[]) {
      const e = this.servicesById.get(r.id);
      if (e) e.lastSeenUs = r.s;
    }
  }

  /** Re-reads `last_seen_us` of one service's operations (written by another connection). */
  syncOperationsLastSeen(serviceId: number): void {
    for (const r of this.st.seenOpsOf.all(serviceId) as { id: number; s: number }[]) {
      const e = this.opsById.get(r.id);
      if (e) e.lastSeenUs = r.s;
    }
  }

  serviceId(name: string, startUs: number): number {
    let e = this.services.get(name);
    if (!e) {
      const seen = ceilHour(startUs);
      e = { id: Number(this.st.insService.run(name, seen).lastInsertRowid), name, lastSeenUs: seen };
      this.addService(e);
    } else if (startUs >= e.lastSeenUs) {
      e.lastSeenUs = ceilHour(startUs);
      this.st.seenService.run(e.lastSeenUs, e.id);
    }
    return e.id;
  }

  operationId(serviceId: number, name: string, kind: SpanKind, startUs: number): number {
    const key = opKey(serviceId, name, kind);
    let e = this.ops.get(key);
    if (!e) {
      const seen = ceilHour(startUs);
      e = { id: Number(this.st.insOp.run(serviceId, name, kind, seen).lastInsertRowid), serviceId, name, kind, lastSeenUs: seen };
      this.addOperation(e);
    } else if (startUs >= e.lastSeenUs) {
      e.lastSeenUs = ceilHour(startUs);
      this.st.seenOp.run(e.lastSeenUs, e.id);
    }
    return e.id;
  }

  /** The interned id of (resource, scope); `canonical` may be passed when already computed. */
  resource(resource: Resource, scope: InstrumentationScope, startUs: number, canonical?: string): ResourceEntry {
    return this.resourceOf(canonical ?? canonicalResource(resource, scope), startUs);
  }

  /** `resource` for a (resource, scope) already in its canonical text (`canonicalResource`). */
  resourceOf(canonical: string, startUs: number): ResourceEntry {
    let e = this.resources.get(canonical);
    if (!e) {
      const seen = ceilHour(startUs);
      e = resourceEntry(Number(this.st.insRes.run(canonical, seen).lastInsertRowid), canonical, seen);
      this.addResource(canonical, e);
    } else if (startUs >= e.lastSeenUs) {
      e.lastSeenUs = ceilHour(startUs);
      this.st.seenRes.run(e.lastSeenUs, e.id);
    }
    return e;
  }

  idOf(key: string): number {
    let id = this.keys.get(key);
    if (id === undefined) {
      id = Number(this.st.insKey.run(key).lastInsertRowid);
      this.addKey(id, key);
    }
    return id;
  }

  keyOf(id: number): string {
    const key = this.keysById.get(id);
    if (key === undefined) throw new Error(`SQLite storage: unknown attribute key #${id}`);
    return key;
  }

  serviceById(id: number): ServiceEntry | undefined { return this.servicesById.get(id); }
  serviceByName(name: string): ServiceEntry | undefined { return this.services.get(name); }
  operationById(id: number): OperationEntry | undefined { return this.opsById.get(id); }
  resourceById(id: number): ResourceEntry | undefined { return this.resourcesById.get(id); }

  /** Service names last seen after `watermarkUs`, sorted. */
  serviceNames(watermarkUs: number): string[] {
    const out: string[] = [];
    for (const e of this.services.values()) if (e.lastSeenUs > watermarkUs) out.push(e.name);
    return out.sort();
  }

  /**
   * Span and event attribute keys ever interned, sorted. Keys are never deleted (payloads refer to
   * them), so this may include keys whose spans retention removed: good enough for autocomplete.
   */
  attributeKeys(): string[] {
    const out: string[] = [];
    for (const k of this.keys.keys()) if (!k.startsWith('\u0001')) out.push(k);
    return out.sort();
  }

  /**
   * String values of a span/event attribute that the payload encoder interned (span-codec.ts: the
   * first few distinct values of keys with few values), sorted; [] for keys with many values.
   */
  internedValues(key: string): string[] {
    const num = this.keys.get(key);
    return num === undefined ? [] : [...(this.pairValues.get(num) ?? [])].sort();
  }

  /** Resource attribute keys → values of resources seen after `watermarkUs`. */
  resourceTags(watermarkUs: number): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const r of this.resourcesById.values()) {
      if (r.lastSeenUs <= watermarkUs) continue;
      for (const [k, values] of r.tags) {
        let s = out.get(k);
        if (!s) out.set(k, (s = new Set()));
        for (const v of values) s.add(v);
      }
    }
    return out;
  }

  operationsOf(serviceId: number, watermarkUs: number): OperationEntry[] {
    const out: OperationEntry[] = [];
    for (const e of this.opsById.values()) if (e.serviceId === serviceId && e.lastSeenUs > watermarkUs) out.push(e);
    return out;
  }
}

const opKey = (serviceId: number, name: string, kind: number): string => `${serviceId}\0${kind}\0${name}`;

export function canonicalResource(resource: Resource, scope: InstrumentationScope): string {
  return JSON.stringify([resource.serviceName, encodeAttributes(resource.attributes), scope.name, scope.version]);
}

function resourceEntry(id: number, data: string, lastSeenUs: number): ResourceEntry {
  const [serviceName, attrs, scopeName, scopeVersion] = JSON.parse(data) as [string, unknown, string, string];
  const attributes = decodeAttributes(attrs);
  const terms: number[] = [];
  const tags = new Map<string, Set<string>>();
  forEachAttributeTag(attributes, (k, v) => {
    // `service.name` = the service: searched through the service term (search.ts), not a tag term.
    if (!(k === SERVICE_NAME_KEY && v === serviceName)) terms.push(tagTerm(k, v));
    let s = tags.get(k);
    if (!s) tags.set(k, (s = new Set()));
    s.add(v);
  });
  return { id, serviceName, attributes, scope: { name: scopeName, version: scopeVersion }, terms, tags, lastSeenUs };
}
