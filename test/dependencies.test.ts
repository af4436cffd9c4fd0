/**
 * "Node ≥ 20" must be true of every installed package, or `npm install` warns EBADENGINE and a
 * user on the oldest Node we claim gets a package that was never meant to run there. Checks the
 * lockfile (what `npm install` installs) against package.json's `engines.node`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { engines?: Record<string, string> | string[]; optional?: boolean }>;
};

describe('dependencies', () => {
  it("accept the oldest Node that package.json's engines allow", () => {
    const oldest = semver.minVersion(pkg.engines.node);
    expect(oldest).not.toBeNull();
    const refusing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
      if (path === '' || range === undefined) continue;
      if (!semver.satisfies(oldest!, range)) refusing.push(`${path} (${range})`);
    }
    expect(refusing).toEqual([]);
  });

  it('the running Node is one package.json allows', () => {
    expect(semver.satisfies(process.version, pkg.engines.node)).toBe(true);
  });
});
