/**
 * The migration report where it is kept: written beside the copy in the target's `.cloudshift/`
 * folder, read back by whoever holds a profile for the target (the CLI, a test).
 */
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import type { ShadowReport } from '../compare/report.js';
import { StoreError } from '../clouds/errors.js';
import type { ObjectStore } from '../clouds/object-store.js';
import { migrationReport, shadowReport } from '../migration-paths.js';
import type { StorageLocation } from '../spec.js';
import type { MigrationStatus } from '../workflows/status.js';
import { renderMigrationReportHtml } from './html.js';
import { buildMigrationReport, type MigrationReport } from './migration-report.js';

export interface StoredReport {
  json: string;
  html: string;
}

/** The comparison's JSON the shadow phase wrote, or why it is missing. */
async function readShadowReport(store: ObjectStore, target: StorageLocation, status: MigrationStatus): Promise<{ shadowReport?: ShadowReport; shadowReportError?: string }> {
  if (!status.shadow?.verdict) return {};
  const key = shadowReport(target, status.name, 'json');
  try {
    return { shadowReport: JSON.parse(await text(await store.read(key))) as ShadowReport };
  } catch (error) {
    return { shadowReportError: `${store.uri}/${key}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Builds the report from a record as it stands (a running migration's too). */
export async function reportOf(store: ObjectStore, target: StorageLocation, status: MigrationStatus, generatedAt = new Date().toISOString()): Promise<MigrationReport> {
  return buildMigrationReport(status, { generatedAt, ...(await readShadowReport(store, target, status)) });
}

export async function writeMigrationReport(store: ObjectStore, target: StorageLocation, status: MigrationStatus): Promise<StoredReport> {
  const report = await reportOf(store, target, status);
  const jsonKey = migrationReport(target, status.name, 'json');
  const htmlKey = migrationReport(target, status.name, 'html');
  await store.write(jsonKey, Readable.from([Buffer.from(JSON.stringify(report, null, 2))]), { contentType: 'application/json' });
  await store.write(htmlKey, Readable.from([Buffer.from(renderMigrationReportHtml(report))]), { contentType: 'text/html; charset=utf-8' });
  return { json: `${store.uri}/${jsonKey}`, html: `${store.uri}/${htmlKey}` };
}

/** The written report, as bytes, or undefined where none was written (yet). */
export async function readMigrationReport(store: ObjectStore, target: StorageLocation, migration: string, format: 'json' | 'html'): Promise<Buffer | undefined> {
  try {
    return await buffer(await store.read(migrationReport(target, migration, format)));
  } catch (error) {
    if (error instanceof StoreError && error.kind === 'NotFound') return undefined;
    throw error;
  }
}
