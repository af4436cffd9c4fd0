/**
 * Multi-tenancy as Jaeger does it (its `tenancy.Manager` and HTTP/gRPC guards): every request
 * names its tenant in one header (gRPC: the metadata key of the same name), the tenant must be one
 * of a fixed list, and what a request writes or reads is the store of that tenant only.
 *
 * This module is the guard both sides share: the receivers (collector/) refuse a payload before
 * reading its body, the query API (query/app.ts) refuses a request before any route runs. Jaeger's
 * answers: HTTP 401 for a missing and for an unknown tenant; gRPC `UNAUTHENTICATED` for a missing
 * one, `PERMISSION_DENIED` for an unknown one or more than one value.
 *
 * Tenant names become a directory (`<data-dir>/tenants/<tenant>/`) and part of a ClickHouse
 * database name (`<database>_<tenant>`), so they are limited to what is safe in both without
 * escaping: lowercase letters, digits and `_` (lowercase only, so two tenants can never share a
 * directory on a case-insensitive file system).
 */

export const TENANT_NAME_PATTERN = /^[a-z0-9][a-z0-9_]{0,62}$/;
export const TENANT_NAME_RULE = "1–63 characters of a–z, 0–9 and '_', starting with a letter or digit";

/** An HTTP header name (RFC 9110 token), lowercase; gRPC metadata keys are the same but must not end in `-bin` (binary values). */
const HEADER_NAME_PATTERN = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

export const DEFAULT_TENANCY_HEADER = 'x-tenant';

export interface TenancyConfig {
  /** Header (and gRPC metadata key) carrying the tenant; lowercase. */
  header: string;
  /** The tenants accepted; tenancy is on when this is non-empty. */
  tenants: readonly string[];
}

/** Problems with a tenancy configuration, each naming what is wrong; empty when it is valid. */
export function tenancyConfigProblems(c: TenancyConfig): { field: 'header' | 'tenants'; message: string }[] {
  const problems: { field: 'header' | 'tenants'; message: string }[] = [];
  if (!HEADER_NAME_PATTERN.test(c.header) || c.header.endsWith('-bin')) {
    problems.push({ field: 'header', message: "must be a lowercase header name (letters, digits, '-'; not ending in '-bin')" });
  }
  const seen = new Set<string>();
  for (const t of c.tenants) {
    if (!TENANT_NAME_PATTERN.test(t)) problems.push({ field: 'tenants', message: `tenant '${t}' is not a valid name: ${TENANT_NAME_RULE}` });
    else if (seen.has(t)) problems.push({ field: 'tenants', message: `tenant '${t}' is listed twice` });
    seen.add(t);
  }
  return problems;
}

/** Why a request was refused: `missing` → 401 / UNAUTHENTICATED; `unknown`, `multiple` → 401 / PERMISSION_DENIED. */
export type TenantRefusal = { reason: 'missing' | 'unknown' | 'multiple'; message: string };

export type TenantCheck = { tenant: string; refusal?: never } | { tenant?: never; refusal: TenantRefusal };

/** How much of a refused header value a message repeats: enough to spot a typo, not a way to echo a payload. */
const ECHO_LIMIT = 64;

export class TenantGuard {
  readonly header: string;
  readonly tenants: ReadonlySet<string>;

  /** Throws when the configuration is invalid (callers validate it first and name the flags). */
  constructor(config: TenancyConfig) {
    const problems = tenancyConfigProblems(config);
    if (problems.length > 0) throw new Error(`tenancy (header '${config.header}'): ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`);
    if (config.tenants.length === 0) throw new Error('tenancy: no tenants (tenancy is off without them)');
    this.header = config.header;
    this.tenants = new Set(config.tenants);
  }

  /**
   * The tenant of a request from every value its header carried (node's `req.headersDistinct`,
   * grpc-js `metadata.get`): exactly one value, naming a configured tenant.
   */
  check(values: readonly (string | Buffer)[] | undefined): TenantCheck {
    const present = (values ?? []).map(String).filter((v) => v !== '');
    if (present.length === 0) return { refusal: { reason: 'missing', message: `missing tenant header '${this.header}'` } };
    if (present.length > 1) return { refusal: { reason: 'multiple', message: `more than one tenant header '${this.header}'` } };
    const value = present[0];
    if (!this.tenants.has(value)) {
      const shown = value.length > ECHO_LIMIT ? `${value.slice(0, ECHO_LIMIT)}…` : value;
      return { refusal: { reason: 'unknown', message: `unknown tenant ${JSON.stringify(shown)} in header '${this.header}'` } };
    }
    return { tenant: value };
  }
}

/** The guard for a configuration, or undefined when tenancy is off (no tenants). */
export function tenantGuardOf(config: TenancyConfig): TenantGuard | undefined {
  return config.tenants.length > 0 ? new TenantGuard(config) : undefined;
}
