/**
 * What an example spec needs at its source on the local stack, written there: the model and
 * holdout its workload names (from assets/, by the model's file name and the holdout's format),
 * the signed artifact its policy trusts (a key of that name made in the keys folder the first
 * time), and some data objects. `cloudshift seed --spec FILE`; idempotent.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import type { StoreResolver } from '../clouds/profiles.js';
import type { MigrationSpec } from '../spec.js';
import { createArtifactActivities } from '../activities/artifacts.js';
import { privateKeyFile } from '../artifacts/keys.js';
import { keyFilter } from '../copy/filters.js';
import { ASSETS_DIR, seedSignedArtifact, seedWorkload } from './workload.js';

const HOLDOUT_ASSET = { csv: 'breast-cancer-holdout.csv', jsonl: 'diabetes-holdout.jsonl' } as const;
const DATA_OBJECTS = 50;

export async function seedExample(spec: MigrationSpec, stores: StoreResolver, keysDir: string): Promise<string[]> {
  const store = stores.store(spec.source);
  await store.ensureContainer();
  const prefix = spec.source.prefix;
  const wrote: string[] = [];
  const put = async (key: string, body: () => Readable, size: number) => {
    const existing = await store.head(`${prefix}${key}`).catch(() => undefined);
    if (existing?.size === size) return;
    await store.write(`${prefix}${key}`, body());
    wrote.push(`${store.uri}/${prefix}${key}`);
  };
  const workload = spec.workload;
  if (workload) {
    if (workload.artifact) {
      // The demo's signed model folder: every variant, the provenance, a bundle by the policy's key.
      await seedWorkload(store, prefix);
      const key = workload.artifact.policy?.keys?.[0];
      // Signed anew unless the bundle there verifies with the policy's key (another run may have signed it with another).
      const verified = key && existsSync(privateKeyFile(keysDir, key)) ? await createArtifactActivities({ stores, keysDir }).checkSourceArtifact({ location: spec.source, artifact: workload.artifact }).then((c) => c.state === 'verified', () => false) : false;
      if (key && !verified) {
        await seedSignedArtifact(store, prefix, keysDir, key);
        wrote.push(`${store.uri}/${prefix}${workload.artifact.folder} (signed with ${key}, the key made in ${keysDir})`);
      }
    } else {
      const asset = basename(workload.model.path);
      if (!existsSync(join(ASSETS_DIR, asset))) throw new Error(`no asset named ${asset} to seed workload.model.path with; assets/ holds the models the examples name`);
      await put(workload.model.path, () => createReadStream(join(ASSETS_DIR, asset)), statSync(join(ASSETS_DIR, asset)).size);
    }
    const holdout = workload.holdout.format === 'npy' ? undefined : HOLDOUT_ASSET[workload.holdout.format];
    if (!holdout) throw new Error('the examples seed CSV and JSONL holdouts only');
    await put(workload.holdout.path, () => createReadStream(join(ASSETS_DIR, holdout)), statSync(join(ASSETS_DIR, holdout)).size);
  }
  // Data the copy's filters take: the first of these kinds its include and exclude accept.
  const accept = keyFilter(spec.copy.include, spec.copy.exclude);
  const extension = ['.parquet', '.csv', '.txt'].find((ext) => accept(`data/part-0000${ext}`)) ?? '.txt';
  for (let i = 0; i < DATA_OBJECTS; i++) {
    const body = Buffer.from(`example data object ${i} of ${spec.name}\n`.repeat(20));
    await put(`data/part-${String(i).padStart(4, '0')}${extension}`, () => Readable.from([body]), body.length);
  }
  return wrote;
}
