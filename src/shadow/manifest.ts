/**
 * Finds one object's entry in the copy manifest (the JSON-lines parts the verify pass wrote), so
 * the shadow phase checks a model's bytes against what the copy proved it moved.
 */
import { createInterface } from 'node:readline';
import type { ObjectStore } from '../clouds/object-store.js';

export interface ManifestEntry {
  key: string;
  targetKey: string;
  size: number;
  sha256: string;
  sourceVersion: string;
}

/** The entries of these source keys, in one pass over the parts that stops when all are found. */
export async function findManifestEntries(store: ObjectStore, manifestPrefix: string, sourceKeys: readonly string[]): Promise<Map<string, ManifestEntry>> {
  const found = new Map<string, ManifestEntry>();
  const quoted = sourceKeys.map((key) => JSON.stringify(key));
  let cursor: string | undefined;
  do {
    const page = await store.list(manifestPrefix, { cursor });
    for (const part of page.objects) {
      for await (const line of createInterface({ input: await store.read(part.key), crlfDelay: Infinity })) {
        if (!quoted.some((q) => line.includes(q))) continue;
        const entry = JSON.parse(line) as ManifestEntry;
        if (sourceKeys.includes(entry.key)) found.set(entry.key, entry);
        if (found.size === new Set(sourceKeys).size) return found;
      }
    }
    cursor = page.cursor;
  } while (cursor);
  return found;
}
