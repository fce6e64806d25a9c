/**
 * The pre-flight: what the migration would fail or block on, found before anything is created or
 * copied, each problem naming the spec's field, the object and what to do. `cloudshift audit`
 * prints it and exits non-zero on any problem; the workflow runs the source's checks as its
 * first activity (`preflightSource`, on the source's queue) and fails at once on a failure.
 * Read-only: it lists, heads and reads, and writes nothing anywhere.
 */
import { Readable } from 'node:stream';
import type { ObjectStore } from '../clouds/object-store.js';
import { identityOverlap } from '../clouds/store-identity.js';
import type { StoreResolver } from '../clouds/profiles.js';
import { readHoldout } from '../inference/holdout.js';
import { openModel } from '../inference/session.js';
import { describeLocation, keyIn, type MigrationSpec } from '../spec.js';

export interface PreflightCheck {
  /** The spec's field the check is about. */
  field: string;
  /** What was checked, in a few words. */
  check: string;
  outcome: 'ok' | 'failed' | 'blocks';
  /** What is wrong and what to do (failed, blocks), or what was found (ok). */
  detail: string;
}

/** Holdout bytes read to check that it parses: its header and first rows, not the whole file. */
const HOLDOUT_SAMPLE_BYTES = 256 * 1024;
/** A model larger than this is not loaded by the pre-flight (the shadow loads it): only its presence is checked. */
const MODEL_CHECK_MAX_BYTES = 256 * 1024 * 1024;

const ok = (field: string, check: string, detail: string): PreflightCheck => ({ field, check, outcome: 'ok', detail });
const failed = (field: string, check: string, detail: string): PreflightCheck => ({ field, check, outcome: 'failed', detail });
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** What the source's worker can check: the source is readable, the model and holdout are there and fit each other. */
export async function preflightSource(spec: MigrationSpec, stores: StoreResolver): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  let store: ObjectStore;
  try {
    store = stores.store(spec.source);
    await store.list(spec.source.prefix, { pageSize: 1 });
    checks.push(ok('source', 'readable', `${describeLocation(spec.source)} lists`));
  } catch (error) {
    checks.push(failed('source', 'readable', `cannot list ${describeLocation(spec.source)} with the profile ${spec.source.profile}: ${reason(error)}; check the bucket, the prefix and the profile's credentials`));
    return checks;
  }
  const workload = spec.workload;
  if (!workload) return checks;
  const present = async (field: string, relative: string): Promise<number | undefined> => {
    const key = keyIn(spec.source, relative);
    try {
      const info = await store.head(key);
      checks.push(ok(field, 'present', `${store.uri}/${key}, ${info.size.toLocaleString('en')} bytes`));
      return info.size;
    } catch (error) {
      checks.push(failed(field, 'present', `${store.uri}/${key} cannot be read (${reason(error)}): the migration would copy the data first and fail on it after; fix ${field} or upload it`));
      return undefined;
    }
  };
  const modelSize = await present('workload.model.path', workload.model.path);
  if (workload.model.targetPath) await present('workload.model.targetPath', workload.model.targetPath);
  const holdoutSize = await present('workload.holdout.path', workload.holdout.path);
  if (holdoutSize === undefined) return checks;

  let stringLabels = false;
  // The model's interface against the holdout: what the shadow would refuse, found now.
  if (modelSize !== undefined && modelSize <= MODEL_CHECK_MAX_BYTES) {
    const modelKey = keyIn(spec.source, workload.model.path);
    try {
      const bytes = await readPrefix(store, modelKey, modelSize);
      const opened = await openModel(new Uint8Array(bytes), { executionProvider: 'cpu', intraOpThreads: 1 }, { features: workload.holdout.features, task: workload.holdout.task, ...(workload.holdout.inputs ? { inputs: workload.holdout.inputs } : {}) });
      await opened.session.release();
      stringLabels = opened.classNames !== undefined;
      checks.push(ok('workload.model', 'fits the holdout', `${opened.iface.feeds.map((f) => `${f.name} ${f.type}`).join(', ')} fed from the holdout; ${[opened.iface.label && `label ${opened.iface.label.name}`, opened.iface.probabilities && `probabilities ${opened.iface.probabilities.name}`, opened.iface.value && `value ${opened.iface.value}`].filter(Boolean).join(', ')} read`));
    } catch (error) {
      checks.push(failed('workload.model', 'fits the holdout', `${store.uri}/${modelKey}: ${reason(error)}`));
    }
  }
  // The holdout's first rows, parsed with the spec's features and label.
  const holdoutKey = keyIn(spec.source, workload.holdout.path);
  let sample: Buffer;
  try {
    sample = await readPrefix(store, holdoutKey, HOLDOUT_SAMPLE_BYTES);
  } catch (error) {
    checks.push(failed('workload.holdout.path', 'parses', `${store.uri}/${holdoutKey} could not be read: ${reason(error)}`));
    return checks;
  }
  // A model of string classes reads the label column as text, as the shadow will.
  const schema = { ...workload.holdout, ...(stringLabels ? { stringLabels: true } : {}) };
  let rows = 0;
  try {
    // A sample ends mid-row: only whole rows before its last newline are read (an .npy is read whole below its limit).
    const whole = workload.holdout.format === 'npy' || holdoutSize <= HOLDOUT_SAMPLE_BYTES ? sample : sample.subarray(0, sample.lastIndexOf(10) + 1);
    const truncatedNpy = workload.holdout.format === 'npy' && holdoutSize > HOLDOUT_SAMPLE_BYTES;
    if (!truncatedNpy) for await (const batch of readHoldout(Readable.from([whole]), schema, 1024)) rows += batch.rows;
    checks.push(ok('workload.holdout', 'parses', truncatedNpy ? 'a .npy larger than the sample: its header is read by the shadow' : `${rows} rows read with the spec's ${workload.holdout.features.length} features and label ${workload.holdout.label}`));
  } catch (error) {
    checks.push(failed('workload.holdout', 'parses', `${store.uri}/${holdoutKey}: ${reason(error)}`));
  }

  return checks;
}

/** The artifact as the audit gate will find it: a signature or file wrong fails, an unsigned one waits at the gate (or fails, as its policy says). */
export function artifactCheckOutcome(check: { state: string; problem?: string; severity?: string; signature: string }): PreflightCheck {
  if (check.state === 'verified') return ok('workload.artifact', 'signature', `verified (${check.signature})`);
  if (check.state === 'invalid') return failed('workload.artifact', 'signature', `${check.problem ?? 'invalid'}: the target refuses it`);
  // A blocking finding holds the migration at the audit gate for an approve (or fails it, as approval.auditFindings says).
  if (check.severity === 'blocking') return { field: 'workload.artifact', check: 'signature', outcome: 'blocks', detail: `${check.problem ?? check.state}: a blocking audit finding, which waits for an approve or fails the migration (approval.auditFindings)` };
  return ok('workload.artifact', 'signature', `${check.problem ?? check.state} (a ${check.severity ?? 'manual'} finding)`);
}

/** What needs both sides' profiles: the target reachable and apart from the source. */
export async function preflightTarget(spec: MigrationSpec, stores: StoreResolver): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  try {
    const [source, target] = await Promise.all([stores.identity(spec.source), stores.identity(spec.target)]);
    const overlap = identityOverlap(source, target);
    checks.push(overlap ? failed('target', 'apart from the source', `${describeLocation(spec.target)} ${overlap} ${describeLocation(spec.source)} as this machine resolves them; choose another bucket or prefix`) : ok('target', 'apart from the source', 'two different places'));
  } catch (error) {
    checks.push(failed('target', 'apart from the source', `could not resolve where the two locations are: ${reason(error)}`));
  }
  try {
    await stores.store(spec.target).list(spec.target.prefix, { pageSize: 1 });
    checks.push(ok('target', 'reachable', `${describeLocation(spec.target)} lists`));
  } catch (error) {
    const missing = /NotFound|not found|NoSuchBucket|ContainerNotFound|does not exist/i.test(reason(error));
    checks.push(
      missing
        ? ok('target', 'reachable', `${describeLocation(spec.target)} does not exist yet: the migration creates it at stand-up`)
        : failed('target', 'reachable', `cannot list ${describeLocation(spec.target)} with the profile ${spec.target.profile}: ${reason(error)}; check its credentials and permissions`),
    );
  }
  return checks;
}

async function readPrefix(store: ObjectStore, key: string, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const body = await store.read(key);
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= limit) break;
  }
  (body as { destroy?: () => void }).destroy?.();
  return Buffer.concat(chunks).subarray(0, limit);
}

export const preflightProblems = (checks: readonly PreflightCheck[]): PreflightCheck[] => checks.filter((c) => c.outcome !== 'ok');

export function renderPreflight(checks: readonly PreflightCheck[]): string {
  const mark = { ok: 'ok     ', failed: 'FAILED ', blocks: 'BLOCKS ' } as const;
  return ['Pre-flight:', ...checks.map((c) => `  ${mark[c.outcome]} ${c.field}: ${c.check} — ${c.detail}`)].join('\n');
}
