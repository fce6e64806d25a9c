/**
 * Shadow inference throughput and memory, on a filesystem store (the store is not what is measured):
 * - cloudshift: the whole shadow path as the workflow runs it: both sides at once (each streams the
 *   holdout from the store, reads it in batches, infers on its own thread and streams its
 *   predictions back), then the comparison (both prediction files read, paired, every statistic).
 *   The headline figures use a .npy holdout (binary, no parsing); `csv_*` the same rows as CSV;
 *   `mlp_*` a heavier model (assets/breast-cancer-mlp.onnx), where inference costs something: the
 *   shipped logistic regression costs ONNX Runtime next to nothing, so against it the ratio
 *   measures only reading, writing and comparing;
 * - raw: the same model on the same rows already in memory, ONNX Runtime (its default options)
 *   called in a loop on the main thread, nothing read or written, at the best of several batch
 *   sizes: the limit.
 * Peak RSS is measured in a child process per size (100k and 1M rows), whose whole life is one
 * shadow run, so it shows whether memory grows with the holdout (it must not).
 * Prints one JSON line.
 */
import { execFile } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LocalFsStore } from '../src/clouds/local-store.js';
import { ASSETS_DIR, CLASSIFIER_FEATURES, holdoutRows, seedWorkload, workloadSpec } from '../src/dev/workload.js';
import { npyHeader, parseNpyHeader } from '../src/inference/npy.js';
import { planInterface } from '../src/inference/model-interface.js';
import { predict } from '../src/inference/session.js';
import { buildShadowReport } from '../src/compare/report.js';
import { readPredictions } from '../src/inference/predictions.js';
import { runShadowSide } from '../src/shadow/run.js';

const BATCH_SIZES = [1024, 4096, 16_384, 65_536];
const ROWS_MEASURED = 1_000_000;
const log = (line: string) => console.error(`[bench shadow] ${line}`);

/** A holdout of `rows` rows, as CSV and as .npy (float32): the shipped rows, each feature jittered by up to ±1 %. */
async function writeHoldouts(dir: string, rows: number): Promise<void> {
  const base = holdoutRows();
  const width = CLASSIFIER_FEATURES.length;
  const csv = createWriteStream(join(dir, `holdout-${rows}.csv`));
  const npy = createWriteStream(join(dir, `holdout-${rows}.npy`));
  csv.write(`${CLASSIFIER_FEATURES.join(',')},label\n`);
  npy.write(npyHeader('float32', rows, width + 1));
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const row = new Float32Array(width + 1);
  for (let r = 0; r < rows; r++) {
    // The .npy gets the values the CSV's text stands for, so both holdouts hold the same rows.
    const text = base[r % base.length]!.map((v) => (v * (0.99 + 0.02 * random())).toPrecision(6));
    text.forEach((v, c) => (row[c] = Number(v)));
    row[width] = r % 2;
    const csvMore = csv.write(`${text.join(',')},${r % 2}\n`);
    const npyMore = npy.write(Buffer.from(row.buffer.slice(0)));
    if (!csvMore || !npyMore) await Promise.all([csv, npy].map((out) => (out.writableNeedDrain ? new Promise<void>((resolve) => out.once('drain', () => resolve())) : undefined)));
  }
  await Promise.all([csv, npy].map((out) => new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))));
}

/** Source and target models per measured model: the target's is a variant, as after a migration. */
const MODELS = {
  logistic: ['breast-cancer.onnx', 'breast-cancer-slight.onnx'],
  mlp: ['breast-cancer-mlp.onnx', 'breast-cancer-mlp.onnx'],
} as const;
type ModelName = keyof typeof MODELS;

async function shadowPath(root: string, rows: number, format: 'csv' | 'npy', batchSize: number, model: ModelName) {
  const store = new LocalFsStore(root, 'bench');
  const started = performance.now();
  const side = (modelFile: string, name: string) =>
    runShadowSide({
      store,
      modelKey: `w/model/${modelFile}`,
      holdoutKey: `w/holdout-${rows}.${format}`,
      predictionsKey: `w/out-${rows}-${name}.bin`,
      holdout: { ...(workloadSpec().holdout as Parameters<typeof runShadowSide>[0]['holdout']), format },
      executionProvider: 'cpu',
      batchSize,
      measureNoise: false,
    });
  const [source, target] = await Promise.all([side(MODELS[model][0], 'source'), side(MODELS[model][1], 'target')]);
  const sidesSeconds = (performance.now() - started) / 1000;
  const read = async (key: string) => readPredictions(await store.read(key), rows, key);
  const report = buildShadowReport({
    migration: 'bench',
    task: 'binary',
    source: await read(source.predictionsKey),
    target: await read(target.predictionsKey),
    shadow: { tolerances: { maxMetricDelta: 0.001, maxMeanRelativeDiff: 0.001, minLabelAgreement: 0.999, maxProbabilityDelta: 0.001 }, driftGates: {} },
  });
  const seconds = (performance.now() - started) / 1000;
  log(`${model}, ${rows} rows of ${format}, batches of ${batchSize}: both sides ${sidesSeconds.toFixed(2)} s (each ${source.rowsPerSecond.toFixed(0)} rows/s), comparison ${(seconds - sidesSeconds).toFixed(2)} s`);
  return { rows: report.rows, seconds, passed: report.passed };
}

if (process.argv[3] === '--child') {
  // The whole shadow path over `rows` rows, then this process's peak RSS.
  const [root, rows, format, batchSize, model] = [process.argv[4]!, Number(process.argv[5]), process.argv[6] as 'csv' | 'npy', Number(process.argv[7]), process.argv[8] as ModelName];
  const result = await shadowPath(root, rows, format, batchSize, model);
  console.log(JSON.stringify({ ...result, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

if (process.env.BENCH_SHADOW_THROUGH === 'endpoints') {
  await (await import('./shadow-endpoints.js')).benchShadowThroughEndpoints();
  process.exit(0);
}

const root = mkdtempSync(join(tmpdir(), 'cs-bench-shadow-'));
try {
  const store = new LocalFsStore(root, 'bench');
  await store.ensureContainer();
  await seedWorkload(store, 'w/');
  await store.write(`w/model/${MODELS.mlp[0]}`, createReadStream(join(ASSETS_DIR, MODELS.mlp[0])));
  for (const rows of [100_000, ROWS_MEASURED]) {
    log(`writing a holdout of ${rows} rows`);
    await writeHoldouts(join(root, 'bench', 'w'), rows);
  }

  const width = CLASSIFIER_FEATURES.length;
  const stored = readFileSync(join(root, 'bench', 'w', `holdout-${ROWS_MEASURED}.npy`));
  const table = new Float32Array(stored.buffer.slice(stored.byteOffset + parseNpyHeader(stored).dataOffset, stored.byteOffset + stored.length));
  const features = new Float32Array(ROWS_MEASURED * width);
  for (let r = 0; r < ROWS_MEASURED; r++) features.set(table.subarray(r * (width + 1), r * (width + 1) + width), r * width);
  const rawLoop = async (modelFile: string) => {
    // ONNX Runtime's own defaults (all cores, spinning pool threads): the bare loop, not cloudshift's options.
    const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(ASSETS_DIR, modelFile))), { executionProviders: ['cpu'] });
    const iface = planInterface(session.inputMetadata, session.outputMetadata, {});
    const best = { rowsPerSecond: 0, batchSize: 0 };
    for (const batchSize of BATCH_SIZES) {
      const started = performance.now();
      for (let r = 0; r < ROWS_MEASURED; r += batchSize) {
        const n = Math.min(batchSize, ROWS_MEASURED - r);
        await predict(session, iface, features.subarray(r * width, (r + n) * width), n);
      }
      const rowsPerSecond = ROWS_MEASURED / ((performance.now() - started) / 1000);
      log(`raw ${modelFile}: batches of ${batchSize}: ${Math.round(rowsPerSecond)} rows/s`);
      if (rowsPerSecond > best.rowsPerSecond) Object.assign(best, { rowsPerSecond, batchSize });
    }
    await session.release();
    return best;
  };
  const child = async (rows: number, format: 'csv' | 'npy', batchSize: number, model: ModelName) => {
    log(`cloudshift: ${model}, ${rows} rows (${format}) in a child process`);
    const args = [...process.execArgv, process.argv[1]!, 'shadow', '--child', root, String(rows), format, String(batchSize), model];
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 20 });
    process.stderr.write(stderr);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { rows: number; seconds: number; peakRssMb: number };
    return { ...result, rowsPerSecond: result.rows / result.seconds };
  };

  log('raw: the same rows in memory, ONNX Runtime in a loop, at each batch size');
  const raw = await rawLoop(MODELS.logistic[0]);
  const small = await child(100_000, 'npy', raw.batchSize, 'logistic');
  const large = await child(ROWS_MEASURED, 'npy', raw.batchSize, 'logistic');
  const csv = await child(ROWS_MEASURED, 'csv', raw.batchSize, 'logistic');
  const mlpRaw = await rawLoop(MODELS.mlp[0]);
  const mlp = await child(ROWS_MEASURED, 'npy', mlpRaw.batchSize, 'mlp');

  const ratio = (rowsPerSecond: number, limit: number) => Number((rowsPerSecond / limit).toFixed(3));
  console.log(
    JSON.stringify({
      bench: 'shadow',
      rows: large.rows,
      rows_per_s: Math.round(large.rowsPerSecond),
      raw_rows_per_s: Math.round(raw.rowsPerSecond),
      ratio: ratio(large.rowsPerSecond, raw.rowsPerSecond),
      peak_rss_mb_100k: Math.round(small.peakRssMb),
      peak_rss_mb_1m: Math.round(large.peakRssMb),
      model: MODELS.logistic[0],
      holdout_format: 'npy',
      batch_size: raw.batchSize,
      csv_rows_per_s: Math.round(csv.rowsPerSecond),
      csv_ratio: ratio(csv.rowsPerSecond, raw.rowsPerSecond),
      csv_peak_rss_mb_1m: Math.round(csv.peakRssMb),
      mlp_model: MODELS.mlp[0],
      mlp_rows_per_s: Math.round(mlp.rowsPerSecond),
      mlp_raw_rows_per_s: Math.round(mlpRaw.rowsPerSecond),
      mlp_ratio: ratio(mlp.rowsPerSecond, mlpRaw.rowsPerSecond),
    }),
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
