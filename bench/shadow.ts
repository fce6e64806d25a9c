/**
 * Shadow inference throughput and memory, on a filesystem store (the store is not what is measured):
 * - cloudshift: the whole shadow path as the workflow runs it: both sides at once (each streams the
 *   holdout from the store, parses it in batches, infers on its own thread and streams its
 *   predictions back), then the comparison (both prediction files read, paired, every statistic);
 * - raw: the same model on the same rows already parsed in memory, ONNX Runtime called in a loop
 *   on the main thread, nothing read or written: the limit.
 * Peak RSS is measured in a child process per size (100k and 1M rows), whose whole life is one
 * shadow side, so it shows whether memory grows with the holdout (it must not).
 * Prints one JSON line.
 */
import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LocalFsStore } from '../src/clouds/local-store.js';
import { ASSETS_DIR, CLASSIFIER_FEATURES, holdoutRows, seedWorkload, workloadSpec } from '../src/dev/workload.js';
import { loadSession, predict } from '../src/inference/session.js';
import { buildShadowReport } from '../src/compare/report.js';
import { readPredictions } from '../src/shadow/predictions.js';
import { runShadowSide } from '../src/shadow/run.js';

const BATCH = 1024;
const ROWS_MEASURED = 1_000_000;
const log = (line: string) => console.error(`[bench shadow] ${line}`);

/** A holdout of `rows` rows: the shipped rows, each feature jittered by up to ±1 %. */
async function writeHoldout(path: string, rows: number): Promise<void> {
  const base = holdoutRows();
  const out = createWriteStream(path);
  out.write(`${CLASSIFIER_FEATURES.join(',')},label\n`);
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let r = 0; r < rows; r++) {
    const row = base[r % base.length]!;
    const line = `${row.map((v) => (v * (0.99 + 0.02 * random())).toPrecision(6)).join(',')},${r % 2}\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

async function shadowPath(root: string, rows: number) {
  const store = new LocalFsStore(root, 'bench');
  const started = performance.now();
  const side = (model: string, name: string) =>
    runShadowSide({
      store,
      modelKey: `w/model/${model}`,
      holdoutKey: `w/holdout-${rows}.csv`,
      predictionsKey: `w/out-${rows}-${name}.csv`,
      holdout: workloadSpec().holdout as Parameters<typeof runShadowSide>[0]['holdout'],
      executionProvider: 'cpu',
      batchSize: BATCH,
      measureNoise: false,
    });
  const [source, target] = await Promise.all([side('breast-cancer.onnx', 'source'), side('breast-cancer-slight.onnx', 'target')]);
  const sidesSeconds = (performance.now() - started) / 1000;
  const read = async (key: string) => readPredictions(await store.read(key), rows, key);
  const report = buildShadowReport({
    migration: 'bench',
    task: 'binary',
    source: await read(source.predictionsKey),
    target: await read(target.predictionsKey),
    shadow: { tolerances: { maxMetricDelta: 0.001, maxMeanRelativeDiff: 0.001, minLabelAgreement: 0.999 }, driftGates: {} },
  });
  const seconds = (performance.now() - started) / 1000;
  log(`${rows} rows: both sides ${sidesSeconds.toFixed(2)} s (each ${source.rowsPerSecond.toFixed(0)} rows/s), comparison ${(seconds - sidesSeconds).toFixed(2)} s`);
  return { rows: report.rows, seconds, passed: report.passed };
}

if (process.argv[3] === '--child') {
  // The whole shadow path over `rows` rows, then this process's peak RSS.
  const [root, rows] = [process.argv[4]!, Number(process.argv[5])];
  const result = await shadowPath(root, rows);
  console.log(JSON.stringify({ ...result, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const root = mkdtempSync(join(tmpdir(), 'cs-bench-shadow-'));
try {
  const store = new LocalFsStore(root, 'bench');
  await store.ensureContainer();
  await seedWorkload(store, 'w/');
  for (const rows of [100_000, ROWS_MEASURED]) {
    log(`writing a holdout of ${rows} rows`);
    await writeHoldout(join(root, 'bench', 'w', `holdout-${rows}.csv`), rows);
  }

  const child = async (rows: number) => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...process.execArgv, process.argv[1]!, 'shadow', '--child', root, String(rows)], { maxBuffer: 1 << 20 });
    process.stderr.write(stderr);
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as { rows: number; seconds: number; peakRssMb: number };
  };
  log('cloudshift: 100k rows in a child process');
  const small = await child(100_000);
  log(`cloudshift: ${ROWS_MEASURED} rows in a child process`);
  const large = await child(ROWS_MEASURED);

  log('raw: the same rows parsed in memory, ONNX Runtime in a loop');
  const lines = readFileSync(join(root, 'bench', 'w', `holdout-${ROWS_MEASURED}.csv`), 'utf8').split('\n').slice(1).filter(Boolean);
  const width = CLASSIFIER_FEATURES.length;
  const features = new Float32Array(lines.length * width);
  lines.forEach((line, r) => line.split(',').slice(0, width).forEach((v, c) => (features[r * width + c] = Number(v))));
  const { session } = await loadSession(new Uint8Array(readFileSync(join(ASSETS_DIR, 'breast-cancer.onnx'))), { executionProvider: 'cpu' });
  const started = performance.now();
  for (let r = 0; r < lines.length; r += BATCH) {
    const n = Math.min(BATCH, lines.length - r);
    await predict(session, features.subarray(r * width, (r + n) * width), n);
  }
  const rawSeconds = (performance.now() - started) / 1000;

  const rowsPerSecond = large.rows / large.seconds;
  const rawRowsPerSecond = lines.length / rawSeconds;
  console.log(
    JSON.stringify({
      bench: 'shadow',
      rows: large.rows,
      rows_per_s: Math.round(rowsPerSecond),
      raw_rows_per_s: Math.round(rawRowsPerSecond),
      ratio: Number((rowsPerSecond / rawRowsPerSecond).toFixed(3)),
      peak_rss_mb_100k: Math.round(small.peakRssMb),
      peak_rss_mb_1m: Math.round(large.peakRssMb),
    }),
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
