import { compareRuntime, type ProvenanceSummary } from '../artifacts/provenance.js';
import { Context, heartbeat } from '@temporalio/activity';
import { Readable } from 'node:stream';
import type { StoreResolver } from '../clouds/profiles.js';
import { manifestFolder, shadowPredictions, shadowReport } from '../migration-paths.js';
import { type Criterion, type ShadowReport, ShadowInputError, type ShadowVerdictKind } from '../compare/report.js';
import { compareOffThread } from '../shadow/compare.js';
import { findManifestEntries } from '../shadow/manifest.js';
import { readPredictions } from '../inference/predictions.js';
import { runShadowSide, type ShadowSideResult, type Workload } from '../shadow/run.js';
import { runShadowThroughEndpoint } from '../shadow/endpoint-run.js';
import type { ServedModel } from '../endpoints/oip.js';
import { type ExecutionProvider, keyIn, type MigrationSpec, type StorageLocation } from '../spec.js';
import { NonRetryableError } from '../errors.js';
import { asActivity } from './failures.js';

export interface ShadowDeps {
  stores: StoreResolver;
  log?: (line: string) => void;
}


export interface ModelChecksumInput {
  migration: string;
  source: StorageLocation;
  target: StorageLocation;
  modelPaths: string[];
}

export interface ShadowInferenceInput {
  migration: string;
  side: 'source' | 'target';
  location: StorageLocation;
  /**
   * Where the predictions go: the target's migration folder for both sides, so nothing of
   * cloudshift's is ever written under the source prefix (a source left with a predictions file
   * after a rollback is not "untouched", and later audits counted it as workload data).
   * @default location
   */
  predictionsLocation?: StorageLocation;
  workload: Workload;
  executionProvider: ExecutionProvider;
  batchSize: number;
  expectedModelSha256: string;
  measureNoise: boolean;
}

export interface EndpointShadowInput {
  migration: string;
  side: 'source' | 'target';
  /** Where this side's holdout is stored. */
  location: StorageLocation;
  predictionsLocation: StorageLocation;
  holdout: Workload['holdout'];
  served: ServedModel;
  batchSize: number;
  /** The model file's SHA-256 from the copy manifest: what the server was checked against. */
  expectedModelSha256: string;
}

export interface ShadowSideSummary extends ShadowSideResult {
  side: 'source' | 'target';
  location: StorageLocation;
  /** Where `predictionsKey` lies. @default location */
  predictionsLocation?: StorageLocation;
}

export interface CompareInput {
  migration: string;
  task: Workload['holdout']['task'];
  source: ShadowSideSummary;
  target: ShadowSideSummary;
  shadow: Pick<MigrationSpec['shadow'], 'tolerances' | 'driftGates'> & Partial<Pick<MigrationSpec['shadow'], 'gateOn'>>;
  /** The artifact's provenance as the target verified it: shown in the report beside the runtime each side used. */
  provenance?: ProvenanceSummary;
}

/** What history carries of the report: the verdict, the criteria, where the full report lies. */
export interface ShadowVerdict {
  verdict: ShadowVerdictKind;
  passed: boolean;
  failed: string[];
  /** Why the verdict is inconclusive. */
  inconclusive: string[];
  noiseWarnings: string[];
  criteria: Criterion[];
  rows: number;
  noise: ShadowReport['noise'];
  reportJson: string;
  reportHtml: string;
}

export function createShadowActivities(deps: ShadowDeps) {
  const uri = (location: StorageLocation, key: string) => `${deps.stores.store(location).uri}/${key}`;
  return {
    /** The models' SHA-256 as the copy manifest recorded them (read on the target's queue), by model path. */
    async modelChecksums(input: ModelChecksumInput): Promise<Record<string, string>> {
      return asActivity(async () => {
        const manifest = manifestFolder(input.target, input.migration);
        const entries = await findManifestEntries(deps.stores.store(input.target), manifest, input.modelPaths.map((path) => keyIn(input.source, path)));
        const checksums: Record<string, string> = {};
        for (const path of input.modelPaths) {
          const entry = entries.get(keyIn(input.source, path));
          if (!entry) {
            throw new NonRetryableError(
              'ModelNotInManifest',
              `the model ${keyIn(input.source, path)} is not in the copy manifest under ${uri(input.target, manifest)}: check workload.model and the copy filters (include/exclude).`,
              { key: keyIn(input.source, path), manifest: uri(input.target, manifest) },
            );
          }
          checksums[path] = entry.sha256;
        }
        return checksums;
      });
    },

    /**
     * Runs the model as stored in one cloud on the holdout as stored there, on an inference
     * thread, and writes the predictions beside them. Heartbeats the rows done.
     */
    async runShadowInference(input: ShadowInferenceInput): Promise<ShadowSideSummary> {
      return asActivity(async () => {
        const predictionsLocation = input.predictionsLocation ?? input.location;
        const predictionsKey = shadowPredictions(predictionsLocation, input.migration, input.side);
        const result = await runShadowSide({
          store: deps.stores.store(input.location),
          predictionsStore: deps.stores.store(predictionsLocation),
          modelKey: keyIn(input.location, input.workload.model.path),
          holdoutKey: keyIn(input.location, input.workload.holdout.path),
          predictionsKey,
          holdout: input.workload.holdout,
          executionProvider: input.executionProvider,
          batchSize: input.batchSize,
          expectedModelSha256: input.expectedModelSha256,
          measureNoise: input.measureNoise,
          onProgress: (rows) => heartbeat({ rows }),
          log: deps.log ?? ((line) => console.log(`[${input.migration} shadow ${input.side}] ${line}`)),
        });
        return { side: input.side, location: input.location, predictionsLocation, ...result };
      });
    },

    /**
     * The holdout as stored in one cloud through that side's real server, its answers written as
     * the predictions the comparison reads. Heartbeats the rows done.
     */
    async runShadowThroughEndpoint(input: EndpointShadowInput): Promise<ShadowSideSummary> {
      const predictionsLocation = input.predictionsLocation;
      const predictionsKey = shadowPredictions(predictionsLocation, input.migration, input.side);
      const result = await runShadowThroughEndpoint({
        store: deps.stores.store(input.location),
        holdoutKey: keyIn(input.location, input.holdout.path),
        holdout: input.holdout,
        served: input.served,
        predictionsStore: deps.stores.store(predictionsLocation),
        predictionsKey,
        batchSize: input.batchSize,
        modelSha256: input.expectedModelSha256,
        onProgress: (rows) => heartbeat({ rows }),
      });
      return { side: input.side, location: input.location, predictionsLocation, ...result };
    },

    /** Pairs both prediction sets row by row, gates, and writes the JSON and HTML report to the target. */
    async compareShadow(input: CompareInput): Promise<ShadowVerdict> {
      return asActivity(async () => {
        if (input.source.rows !== input.target.rows) {
          throw new ShadowInputError(`the source predicted ${input.source.rows} rows and the target ${input.target.rows}: the holdout sets differ, so the runs cannot be paired`);
        }
        const read = async (side: ShadowSideSummary) =>
          readPredictions(
            await deps.stores.store(side.predictionsLocation ?? side.location).read(side.predictionsKey),
            side.rows,
            uri(side.predictionsLocation ?? side.location, side.predictionsKey),
          );
        const [source, target] = await Promise.all([read(input.source), read(input.target)]);
        heartbeat();
        const noise = {
          ...(input.source.noise ? { source: input.source.noise } : {}),
          ...(input.target.noise ? { target: input.target.noise } : {}),
        };
        const { report, html } = await compareOffThread(
          {
            migration: input.migration,
            task: input.task,
            source: { ...source, ...(input.source.classes ? { classes: input.source.classes } : {}), ...(input.source.classNames ? { classNames: input.source.classNames } : {}) },
            target: { ...target, ...(input.target.classes ? { classes: input.target.classes } : {}), ...(input.target.classNames ? { classNames: input.target.classNames } : {}) },
            shadow: input.shadow,
            noise,
            ...(input.provenance
              ? { provenance: { summary: input.provenance, runtime: compareRuntime(input.provenance.predicate?.runtime, { source: input.source.runtime, target: input.target.runtime }) } }
              : {}),
          },
          { heartbeat: () => heartbeat(), signal: Context.current().cancellationSignal },
        );
        const store = deps.stores.store(input.target.location);
        const jsonKey = shadowReport(input.target.location, input.migration, 'json');
        const htmlKey = shadowReport(input.target.location, input.migration, 'html');
        const sides = { source: summary(input.source), target: summary(input.target) };
        await store.write(jsonKey, Readable.from([Buffer.from(JSON.stringify({ ...report, sides }, null, 2))]), { contentType: 'application/json' });
        await store.write(htmlKey, Readable.from([Buffer.from(html)]), { contentType: 'text/html; charset=utf-8' });
        return {
          verdict: report.verdict,
          passed: report.passed,
          failed: report.failed,
          inconclusive: report.inconclusive,
          noiseWarnings: report.noiseWarnings,
          criteria: report.criteria,
          rows: report.rows,
          noise,
          reportJson: uri(input.target.location, jsonKey),
          reportHtml: uri(input.target.location, htmlKey),
        };
      });
    },
  };
}

function summary(side: ShadowSideSummary) {
  const { location, predictionsKey, provider, runtime, fallbackReason, rows, seconds, rowsPerSecond, modelSha256 } = side;
  return { cloud: location.cloud, bucket: location.bucket, predictionsKey, provider, runtime, fallbackReason, rows, seconds, rowsPerSecond, modelSha256 };
}
