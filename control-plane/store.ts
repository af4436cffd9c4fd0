import Database from 'better-sqlite3';
import type { ConfigHistoryEntry, ConfigVersion } from './api.js';

/**
 * Mesh config versions in SQLite: append-only, one row per apply or rollback, so history and
 * rollback are reads and the config survives a restart. In the all-in-one server this is the
 * trace store's own file (another connection; WAL lets it write beside the ingest worker).
 */
export class ConfigStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // The ingest worker may hold the write lock for a batch: wait rather than fail an apply.
    this.db.pragma('busy_timeout = 5000');
  }

  /**
   * The table is created by the first apply, not on open: an all-in-one server whose control
   * plane is never used leaves its trace database exactly as the trace store made it.
   */
  private hasTable(): boolean {
    return this.db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'mesh_config'").pluck().get() === 1;
  }

  /** The newest version; version 0 (empty config) when none was ever applied. */
  current(): ConfigVersion {
    if (!this.hasTable()) return { version: 0, createdAt: null, config: {} };
    const row = this.db.prepare('SELECT version, created_at, config FROM mesh_config ORDER BY version DESC LIMIT 1').get() as
      { version: number; created_at: string; config: string } | undefined;
    return row ? { version: row.version, createdAt: row.created_at, config: JSON.parse(row.config) as Record<string, unknown> } : { version: 0, createdAt: null, config: {} };
  }

  get(version: number): ConfigVersion | undefined {
    if (!this.hasTable()) return undefined;
    const row = this.db.prepare('SELECT version, created_at, config FROM mesh_config WHERE version = ?').get(version) as
      { version: number; created_at: string; config: string } | undefined;
    return row && { version: row.version, createdAt: row.created_at, config: JSON.parse(row.config) as Record<string, unknown> };
  }

  /** Stores `config` (already validated) as the next version and returns it. */
  append(config: Record<string, unknown>, source: string): number {
    return this.db.transaction(() => {
      this.db.exec(`CREATE TABLE IF NOT EXISTS mesh_config (
        version    INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        source     TEXT NOT NULL,
        config     TEXT NOT NULL
      )`);
      const max = (this.db.prepare('SELECT coalesce(max(version), 0) FROM mesh_config').pluck().get() as number);
      this.db.prepare('INSERT INTO mesh_config (version, created_at, source, config) VALUES (?, ?, ?, ?)')
        .run(max + 1, new Date().toISOString(), source, JSON.stringify(config));
      return max + 1;
    }).immediate();
  }

  /** Newest first. */
  history(limit = 100): ConfigHistoryEntry[] {
    if (!this.hasTable()) return [];
    return (this.db.prepare('SELECT version, created_at, source FROM mesh_config ORDER BY version DESC LIMIT ?').all(limit) as
      { version: number; created_at: string; source: string }[]).map((r) => ({ version: r.version, createdAt: r.created_at, source: r.source }));
  }

  close(): void { this.db.close(); }
}
