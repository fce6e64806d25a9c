/**
 * The shadow through both real servers (`shadow.through: endpoints`) against a bare V2 client:
 * two Triton endpoints deployed as a migration deploys them (the source's model and the target's
 * variant, ONNX Runtime inside Triton's Python backend), the holdout streamed from a store and
 * sent to both in V2 batches as the shadow sends them (bounded in flight, retried per batch), each
 * side's predictions written back; the anchor sends the same batches to one of them, in memory,
 * reading nothing and writing nothing. `BENCH_SHADOW_THROUGH=endpoints npm run bench -- shadow`.
 * Prints one JSON line.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LocalFsStore } from '../src/clouds/local-store.js';
import { ASSETS_DIR, CLASSIFIER_FEATURES, holdoutRows } from '../src/dev/workload.js';
import { OipClient } from '../src/endpoints/oip-client.js';
import { defaultOutputs, type ServedModel } from '../src/endpoints/oip.js';
import { TritonDeployer } from '../src/endpoints/triton.js';
import { runShadowThroughEndpoint } from '../src/shadow/endpoint-run.js';

const ROWS = Number(process.env.BENCH_SHADOW_ENDPOINT_ROWS ?? 20_000);
const BATCH = 256;
const IN_FLIGHT = 4;
const log = (line: string) => console.error(`[bench shadow endpoints] ${line}`);

export async function benchShadowThroughEndpoints(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'cs-bench-shadow-ep-'));
  const triton = new TritonDeployer({
    stateDir: join(root, 'triton'),
    profileOf: () => undefined,
  });
  try {
    const store = new LocalFsStore(join(root, 'store'), 'bench');
    await store.ensureContainer();
    const base = holdoutRows();
    const rows = Array.from({ length: ROWS }, (_, r) => base[r % base.length]!);
    const csv = `${CLASSIFIER_FEATURES.join(',')},label\n${rows.map((row, r) => `${row.join(',')},${r % 2}`).join('\n')}\n`;
    await store.write('holdout.csv', Readable.from([Buffer.from(csv)]));
    const served: Record<'source' | 'target', ServedModel> = {} as never;
    for (const [side, asset] of [['source', 'breast-cancer.onnx'], ['target', 'breast-cancer-copy.onnx']] as const) {
      await store.write(`${side}.onnx`, Readable.from([readFileSync(join(ASSETS_DIR, asset))]));
      const endpoint = await triton.deploy({ migration: 'bench', side, store, location: { cloud: 'onprem', profile: 'bench', bucket: 'bench', prefix: '' }, modelKey: `${side}.onnx`, executionProvider: 'cpu', modelName: 'bench', server: 'triton' });
      const metadata = await new OipClient({ url: endpoint.url, model: 'bench' }).metadata();
      served[side] = { url: endpoint.url, model: 'bench', input: { name: metadata.inputs[0]!.name, datatype: 'FP32' }, outputs: defaultOutputs(metadata, 'binary'), classes: [0, 1] };
    }
    const holdout = { path: 'holdout.csv', format: 'csv' as const, features: CLASSIFIER_FEATURES, label: 'label', task: 'binary' as const, nonFinite: 'fail' as const };
    // Warm both servers (their Python backends load ONNX Runtime on the first request).
    for (const side of ['source', 'target'] as const) await new OipClient({ url: served[side].url, model: 'bench' }).predict(served[side].input, rows.slice(0, BATCH), served[side].outputs, [0, 1]);

    log(`through both servers: ${ROWS} rows, batches of ${BATCH}, ${IN_FLIGHT} in flight per side`);
    const started = performance.now();
    await Promise.all((['source', 'target'] as const).map((side) => runShadowThroughEndpoint({ store, holdoutKey: 'holdout.csv', holdout, served: served[side], predictionsStore: store, predictionsKey: `${side}.bin`, batchSize: BATCH, concurrency: IN_FLIGHT, modelSha256: '' })));
    const both = (performance.now() - started) / 1000;

    log('anchor: the same batches to the source server from memory, nothing read or written');
    const client = new OipClient({ url: served.source.url, model: 'bench' });
    const bareStarted = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let at = (next += BATCH) - BATCH; at < ROWS; at = (next += BATCH) - BATCH) await client.predict(served.source.input, rows.slice(at, at + BATCH), served.source.outputs, [0, 1]);
      }),
    );
    const bare = (performance.now() - bareStarted) / 1000;
    console.log(
      JSON.stringify({
        bench: 'shadow',
        through: 'endpoints',
        server: 'triton',
        rows: ROWS,
        batch: BATCH,
        in_flight: IN_FLIGHT,
        // Each side's rows through its own server, both at once (as the workflow runs them).
        through_endpoints_rows_per_s: Math.round(ROWS / both),
        bare_client_rows_per_s: Math.round(ROWS / bare),
        ratio: Number((bare / both).toFixed(3)),
      }),
    );
  } finally {
    await triton.stop('bench', 'source').catch(() => undefined);
    await triton.stop('bench', 'target').catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}
