/**
 * Every path in a migration's own folder, `<prefix>.cloudshift/<migration>/`, named once. Pure
 * (no I/O, no Node API), so workflows name them too. The folder lives under the target's prefix
 * only: nothing of cloudshift's is ever written under the source's.
 */
import { keyIn, type StorageLocation } from './spec.js';

/** cloudshift's own folder under a prefix: never copied, never counted as workload data. */
export const CLOUDSHIFT_FOLDER = '.cloudshift/';

type Location = Pick<StorageLocation, 'prefix'>;

/** A path in one migration's folder under a location's prefix. */
export const migrationFolder = (location: Location, migration: string, path = ''): string => keyIn(location as StorageLocation, `${CLOUDSHIFT_FOLDER}${migration}/${path}`);

/** Which run of the name owns the folder (copy/run-claim.ts). */
export const runClaim = (target: Location, migration: string): string => migrationFolder(target, migration, 'run.json');

/** The copy manifest: JSON lines, one part per verified page. */
export const manifestFolder = (target: Location, migration: string): string => migrationFolder(target, migration, 'manifest/');
export const manifestPart = (target: Location, migration: string, part: number): string =>
  migrationFolder(target, migration, `manifest/part-${String(part).padStart(6, '0')}.jsonl`);

/**
 * The catch-up's manifest: the lines of objects unchanged since the initial copy's manifest,
 * carried over, and the lines of what the catch-up copied. The initial manifest stays as it was.
 */
export const catchUpManifestFolder = (target: Location, migration: string): string => migrationFolder(target, migration, 'manifest-catch-up/');
export const catchUpManifestPart = (target: Location, migration: string, part: number): string =>
  migrationFolder(target, migration, `manifest-catch-up/part-${String(part).padStart(6, '0')}.jsonl`);

/** The SHA-256 record of one copied object whose provider could not keep it in metadata. */
export const checksumRecord = (target: Location, migration: string, relativeKey: string): string =>
  migrationFolder(target, migration, `checksums/${relativeKey.replace(/^\//, '')}.json`);

/** Where each shadow side's predictions go (both under the target). */
export const shadowPredictions = (target: Location, migration: string, side: 'source' | 'target'): string =>
  migrationFolder(target, migration, `shadow/${side}-predictions.bin`);

/** The shadow comparison's report. */
export const shadowReport = (target: Location, migration: string, format: 'json' | 'html'): string => migrationFolder(target, migration, `shadow/report.${format}`);

/** The migration's own report, written at its end (kept in the target's folder, also after a rollback). */
export const migrationReport = (target: Location, migration: string, format: 'json' | 'html'): string => migrationFolder(target, migration, `report/migration.${format}`);

/** Whether a key relative to a prefix lies in cloudshift's own folder. */
export const isCloudshiftKey = (relativeKey: string): boolean => relativeKey.startsWith(CLOUDSHIFT_FOLDER);
