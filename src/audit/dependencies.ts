import type { Cloud, Dependency } from '../spec.js';
import { catalogEntry, type Classification } from './catalog.js';

export interface DependencyFinding {
  kind: Dependency['kind'];
  service: string;
  name: string;
  classification: Classification;
  /** The counterpart on the target cloud, where there is one. */
  equivalent?: string;
  /** Why this classification, and what a person has to do. */
  reason: string;
}

/**
 * Settings that stop a migration until someone acts, checked before the catalog's class. Each
 * returns the reason, or nothing when the setting does not apply.
 */
const BLOCKERS: ((d: Dependency, source: Cloud, target: Cloud) => string | undefined)[] = [
  (d, _source, target) => {
    const type = d.settings.instanceType;
    return typeof type === 'string' && /^ml\.(inf|trn)\d/.test(type) && target !== 'aws'
      ? `instance type ${type} is an AWS Inferentia/Trainium accelerator with no counterpart on ${target}; serve a GPU/CPU build of the model (the ONNX model cloudshift serves needs none)`
      : undefined;
  },
  (d) =>
    typeof d.settings.builtinAlgorithm === 'string'
      ? `the model runs in the provider's built-in algorithm container (${d.settings.builtinAlgorithm}); export it to ONNX before it can be served elsewhere`
      : undefined,
  (d) => (d.settings.exportable === false ? `${d.service} "${d.name}" is marked not exportable; its contents cannot leave ${d.service}` : undefined),
];

/** Settings that add manual work to an otherwise mapped or portable dependency. */
const CAUTIONS: ((d: Dependency) => string | undefined)[] = [
  (d) => (d.kind === 'database' && typeof d.settings.sizeGiB === 'number' && d.settings.sizeGiB > 1024 ? `${d.settings.sizeGiB} GiB database: plan a replication-based cutover, not a dump and restore` : undefined),
  (d) => (d.kind === 'dns' && typeof d.settings.ttlSeconds === 'number' && d.settings.ttlSeconds > 300 ? `TTL ${d.settings.ttlSeconds}s: lower it to 300s or less a day before the traffic shift` : undefined),
];

export function classifyDependency(d: Dependency, source: Cloud, target: Cloud): DependencyFinding {
  const base = { kind: d.kind, service: d.service, name: d.name };
  const known = catalogEntry(source, d.service);
  const onTarget = catalogEntry(target, d.service);
  const equivalent = known?.equivalents[target];
  const blocked = BLOCKERS.map((check) => check(d, source, target)).find(Boolean);
  if (blocked) return { ...base, classification: 'blocking', equivalent, reason: blocked };
  if (!known && onTarget) {
    return { ...base, classification: 'portable', reason: `${onTarget.label} is already a ${target} service; nothing to move` };
  }
  if (!known) {
    return { ...base, classification: 'manual', reason: `"${d.service}" is not in cloudshift's catalog for ${source}; find its ${target} counterpart by hand` };
  }
  const caution = CAUTIONS.map((check) => check(d)).find(Boolean);
  const reason = [known.note, caution].filter(Boolean).join('; ') || `${known.label} → ${equivalent}`;
  return { ...base, classification: caution && known.classification !== 'manual' ? 'manual' : known.classification, equivalent, reason };
}
