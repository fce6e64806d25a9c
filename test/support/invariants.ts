/**
 * The invariants every test that moves data checks: the source prefix is byte-identical afterwards
 * (unless an approved teardown deleted it), and the target holds only this migration's objects
 * plus what was there before.
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { MIGRATION_METADATA_KEY, type ObjectStore } from '../../src/clouds/object-store.js';

export type Snapshot = Map<string, { size: number; sha256: string; migration?: string }>;

/** Every object under `prefix`, with the SHA-256 of its bytes as read back now. */
export async function snapshot(store: ObjectStore, prefix: string): Promise<Snapshot> {
  const objects: Snapshot = new Map();
  let cursor: string | undefined;
  do {
    const page = await store.list(prefix, { cursor, pageSize: 1000 });
    for (const o of page.objects) {
      const hash = createHash('sha256');
      for await (const chunk of await store.read(o.key)) hash.update(chunk as Buffer);
      const metadata = o.metadata ?? (await store.head(o.key)).metadata;
      objects.set(o.key, { size: o.size, sha256: hash.digest('hex'), ...(metadata?.[MIGRATION_METADATA_KEY] ? { migration: metadata[MIGRATION_METADATA_KEY] } : {}) });
    }
    cursor = page.cursor;
  } while (cursor);
  return objects;
}

/** The source as it was: same keys, same bytes. */
export function expectSourceUntouched(before: Snapshot, after: Snapshot): void {
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  for (const [key, object] of before) expect(after.get(key), key).toEqual(object);
}

/**
 * The target holds what it held before, unchanged, and otherwise only objects `migration` wrote
 * (marked with its run's `mark`, or by its name in runs before marks) or its own folder.
 */
export function expectTargetOnlyOurs(before: Snapshot, after: Snapshot, migration: string, prefix: string, mark = migration): void {
  for (const [key, object] of before) expect(after.get(key), `${key} was there before the migration`).toEqual(object);
  for (const [key, object] of after) {
    if (before.has(key)) continue;
    const ours = object.migration === mark || key.startsWith(`${prefix}.cloudshift/${migration}/`);
    expect(ours, `${key} is not ${migration}'s`).toBe(true);
  }
}
