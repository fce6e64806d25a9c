/**
 * Prometheus file-based service discovery: one JSON file per migration under the targets folder,
 * listing what to scrape (the endpoints, the data plane) with the labels that name the migration,
 * the side and the cloud. Prometheus watches the folder and picks a file up within a second.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ScrapeTarget {
  /** host:port */
  address: string;
  /** The `job` label: cloudshift-endpoint, cloudshift-dataplane, cloudshift-worker. */
  job: string;
  labels: Record<string, string>;
}

interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

export const scrapeFile = (dir: string, migration: string) => join(dir, `${migration}.json`);

/**
 * Replaces a file of targets atomically: Prometheus never reads half of one. A migration's file
 * labels its targets with the migration; the worker's own file does not, since its series carry
 * the migration they are about themselves (a label from discovery would overwrite theirs).
 */
export async function writeScrapeTargets(dir: string, name: string, targets: readonly ScrapeTarget[], common: Record<string, string> = { migration: name }): Promise<void> {
  await mkdir(dir, { recursive: true });
  const groups: TargetGroup[] = targets.map((t) => ({ targets: [t.address], labels: { job: t.job, ...common, ...t.labels } }));
  const file = scrapeFile(dir, name);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(groups, null, 2));
  await rename(temporary, file);
}

export async function removeScrapeTargets(dir: string, migration: string): Promise<void> {
  await rm(scrapeFile(dir, migration), { force: true });
}

/**
 * Removes the scrape files of this host's workers that no longer run (`worker-<host>-<pid>`): a
 * killed worker cannot remove its own, and Prometheus would scrape the dead address for ever.
 */
export async function removeDeadWorkersTargets(dir: string, host: string, isAlive: (pid: number) => boolean): Promise<string[]> {
  const prefix = `worker-${host}-`;
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix) || !name.endsWith('.json')) continue;
    const pid = Number(name.slice(prefix.length, -'.json'.length));
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

export const hostPort = (url: string): string => new URL(url).host;
