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

export async function findManifestEntry(store: ObjectStore, manifestPrefix: string, sourceKey: string): Promise<ManifestEntry | undefined> {
  let cursor: string | undefined;
  do {
    const page = await store.list(manifestPrefix, { cursor });
    for (const part of page.objects) {
      for await (const line of createInterface({ input: await store.read(part.key), crlfDelay: Infinity })) {
        if (!line.includes(JSON.stringify(sourceKey))) continue;
        const entry = JSON.parse(line) as ManifestEntry;
        if (entry.key === sourceKey) return entry;
      }
    }
    cursor = page.cursor;
  } while (cursor);
  return undefined;
}
