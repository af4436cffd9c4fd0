/**
 * Which SQLite errors mean the storage refuses writes (the disk is full, the file system fails
 * or turned read-only, the file is locked by someone else) rather than that one batch was bad.
 * Those are a state of the store to report and wait out, not a per-request error to log.
 */
const REFUSAL_CODE = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY|LOCKED)/;

/** The SQLite result code (e.g. `SQLITE_FULL`, `SQLITE_IOERR_WRITE`) when `err` is a refusal. */
export function writeRefusalCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && REFUSAL_CODE.test(code) ? code : undefined;
}
