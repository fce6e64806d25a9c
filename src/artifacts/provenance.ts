/**
 * The model's provenance: an in-toto statement inside the signed artifact (so its signature covers
 * it) whose predicate says what made the model — training data with digests, hyperparameters, the
 * training code's revision, library versions, evaluation metrics — and what runtime it was made
 * for. The shadow report shows it, and sets the runtime each side really used beside it.
 */
import { z } from 'zod';
import { NonRetryableError } from '../errors.js';

export const PROVENANCE_PREDICATE = 'https://cloudshift.dev/model-provenance/v1';
const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** A provenance document is a few KiB; this bounds what a hostile one can make us parse and keep. */
export const MAX_PROVENANCE_BYTES = 256 * 1024;

export class ArtifactProvenanceInvalid extends NonRetryableError {
  constructor(message: string, context: NonRetryableError['context'] = {}) {
    super('ArtifactProvenanceInvalid', message, context);
  }
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, { error: 'expected a SHA-256 in hex' });
const shortText = z.string().max(512);
const scalar = z.union([z.string().max(512), z.number(), z.boolean()]);

const dataReference = z.strictObject({ name: shortText, uri: shortText.optional(), digest: z.strictObject({ sha256 }), rows: z.int().min(0).optional() });

const predicateSchema = z.strictObject({
  trainingData: z.array(dataReference).max(100),
  /** The data the metrics were measured on. */
  evaluationData: z.array(dataReference).max(100).default([]),
  hyperparameters: z.record(z.string().max(128), scalar).refine((h) => Object.keys(h).length <= 100, { error: 'expected at most 100 hyperparameters' }),
  code: z.strictObject({ repository: shortText.optional(), revision: shortText, entryPoint: shortText.optional() }),
  libraries: z.record(z.string().max(128), shortText).refine((l) => Object.keys(l).length <= 100, { error: 'expected at most 100 libraries' }),
  /** What the model was made to run on. */
  runtime: z
    .strictObject({
      onnxruntime: shortText.optional(),
      opset: z.int().min(1).max(1000).optional(),
      executionProviders: z.array(z.enum(['cpu', 'cuda'])).max(4).optional(),
    })
    .prefault({}),
  metrics: z.record(z.string().max(128), z.number()).refine((m) => Object.keys(m).length <= 100, { error: 'expected at most 100 metrics' }),
});

const statementSchema = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z.array(z.object({ name: shortText, digest: z.object({ sha256 }) })).min(1).max(100),
  predicateType: z.string().max(512),
  predicate: z.unknown(),
});

export type ProvenancePredicate = z.output<typeof predicateSchema>;

/** What history and the reports carry of the provenance. */
export interface ProvenanceSummary {
  /** Where it was read. */
  document: string;
  predicateType: string;
  subject: { name: string; sha256: string }[];
  /** Absent where the predicate is one cloudshift does not read (e.g. SLSA's): only its type and subject are shown. */
  predicate?: ProvenancePredicate;
}

const describeIssue = (error: z.ZodError) => {
  const issue = error.issues[0]!;
  return `${issue.path.join('.') || '(top)'}: ${issue.message}`;
};

/**
 * Reads a provenance statement and checks it describes these files: each subject must be a file
 * of the artifact with that digest, so a provenance copied from another model is refused.
 */
export function readProvenance(text: string, where: string, files: ReadonlyMap<string, string>): ProvenanceSummary {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ArtifactProvenanceInvalid(`the provenance ${where} is not JSON`, { file: where });
  }
  const statement = statementSchema.safeParse(json);
  if (!statement.success) throw new ArtifactProvenanceInvalid(`the provenance ${where} is not an in-toto statement: ${describeIssue(statement.error)}`, { file: where });
  const subject = statement.data.subject.map((s) => ({ name: s.name, sha256: s.digest.sha256 }));
  for (const s of subject) {
    const actual = files.get(s.name);
    if (actual !== s.sha256) {
      throw new ArtifactProvenanceInvalid(
        actual
          ? `the provenance ${where} describes ${s.name} with SHA-256 ${s.sha256}, but the artifact's ${s.name} is ${actual}: it describes another model`
          : `the provenance ${where} describes ${s.name}, which is not a file of the artifact`,
        { file: where },
      );
    }
  }
  const summary: ProvenanceSummary = { document: where, predicateType: statement.data.predicateType, subject };
  if (statement.data.predicateType !== PROVENANCE_PREDICATE) return summary;
  const predicate = predicateSchema.safeParse(statement.data.predicate);
  if (!predicate.success) throw new ArtifactProvenanceInvalid(`the provenance ${where} has a ${PROVENANCE_PREDICATE} predicate that does not read: ${describeIssue(predicate.error)}`, { file: where });
  return { ...summary, predicate: predicate.data };
}

/** The runtime one shadow side really used. */
export interface SideRuntime {
  onnxruntime: string;
  executionProvider: 'cpu' | 'cuda';
  opset?: number;
}

export interface RuntimeComparison {
  side: 'source' | 'target';
  what: 'onnxruntime' | 'executionProvider' | 'opset';
  declared: string;
  actual: string;
  /** A different ONNX Runtime minor version, provider or opset: not a failure, but worth a look when the gate is close. */
  matches: boolean;
}

const minor = (version: string) => version.split('.').slice(0, 2).join('.');

/** Each side's runtime against what the provenance declares, field by field (only what it declares). */
export function compareRuntime(declared: ProvenancePredicate['runtime'] | undefined, sides: Record<'source' | 'target', SideRuntime>): RuntimeComparison[] {
  if (!declared) return [];
  const rows: RuntimeComparison[] = [];
  for (const side of ['source', 'target'] as const) {
    const actual = sides[side];
    if (declared.onnxruntime) rows.push({ side, what: 'onnxruntime', declared: declared.onnxruntime, actual: actual.onnxruntime, matches: minor(declared.onnxruntime) === minor(actual.onnxruntime) });
    if (declared.executionProviders?.length) {
      rows.push({ side, what: 'executionProvider', declared: declared.executionProviders.join(' or '), actual: actual.executionProvider, matches: declared.executionProviders.includes(actual.executionProvider) });
    }
    if (declared.opset !== undefined) rows.push({ side, what: 'opset', declared: String(declared.opset), actual: actual.opset === undefined ? 'unknown' : String(actual.opset), matches: declared.opset === actual.opset });
  }
  return rows;
}
