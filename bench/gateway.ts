/**
 * The canary's data plane against its anchors: the same load (wrk, a process of its own)
 * straight to one inference endpoint (a process of its own), through HAProxy configured as a plain
 * balancer (the anchor), and through cloudshift's data plane as the canary configures it (the
 * per-migration HAProxy with weights set, request ids, the mirror hooks), mirroring off and on.
 * Several rounds in turning order; medians. Prints one JSON line.
 * BENCH_GATEWAY_SERVER=triton puts NVIDIA Triton (the stack's tritonserver, the model in ONNX
 * Runtime inside its Python backend, deployed as the migration deploys it) behind every
 * configuration instead of cloudshift's own endpoint, and the load speaks the Open Inference
 * Protocol; the mirrored configuration includes the data plane's agreement capture (both answers
 * kept), as a canary runs it.
 *
 * Where taskset and two CPUs exist, the endpoint runs alone on CPU 0 and the load generator and
 * the proxy share CPU 1, in every configuration: the question is whether the proxy holds the
 * endpoint back, and unpinned the three fought for both cores (rounds of one configuration varied
 * by half).
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../src/paths.js';
import { ASSETS_DIR, holdoutRows } from '../src/dev/workload.js';
import { startInferenceServer } from '../src/endpoints/server.js';
import { HaproxyRouter } from '../src/traffic/haproxy.js';

// Many short rounds rather than a few long ones: this machine's speed wanders within seconds
// (one configuration's 6 s rounds ranged 4.5–12 k req/s in one run), so the configurations take
// turns often enough to meet the same machine, and the medians are over many turns.
const SECONDS = Number(process.env.BENCH_GATEWAY_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_GATEWAY_ROUNDS ?? 21);
const CONNECTIONS = 16;
const log = (line: string) => console.error(`[bench gateway] ${line}`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (v: number, digits = 3) => Number(v.toFixed(digits));
const PINNED = availableParallelism() >= 2 && (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();
/** A command and its arguments, run on one CPU where pinning is possible. */
const onCpu = (cpu: number, command: string, args: string[]): [string, string[]] => (PINNED ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args]);

interface LoadRun {
  rps: number;
  p99: number;
}

/**
 * wrk (C, epoll) where the install script put it, else autocannon. autocannon is Node: on this
 * 2-core machine it took most of the CPU it shared with the proxy, so the proxy's every cycle came
 * out of the load instead of out of the endpoint, and the bench measured the load generator.
 */
const LOAD_GENERATOR: { name: string; run(url: string, body: string, seconds: number): Promise<LoadRun> } = hasCommand('wrk')
  ? {
      name: 'wrk',
      async run(url, body, seconds) {
        const script = join(PROJECT_ROOT, 'bench', 'wrk-predict.lua');
        const { stdout } = await promisify(execFile)(...onCpu(1, 'wrk', ['-t', '1', '-c', String(CONNECTIONS), '-d', `${seconds}s`, '-s', script, url]), { env: { ...process.env, BENCH_BODY: body }, maxBuffer: 1 << 24 });
        const line = stdout.split('\n').find((l) => l.startsWith('{"requests"'));
        if (!line) throw new Error(`wrk printed no result for ${url}: ${stdout.slice(-500)}`);
        const result = JSON.parse(line) as { requests: number; duration_us: number; p99_us: number; non2xx: number; errors: number };
        if (result.non2xx || result.errors) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
        return { rps: result.requests / (result.duration_us / 1e6), p99: result.p99_us / 1000 };
      },
    }
  : {
      name: 'autocannon',
      async run(url, body, seconds) {
        const autocannon = join(PROJECT_ROOT, 'node_modules/.bin/autocannon');
        const args = ['-c', String(CONNECTIONS), '-d', String(seconds), '-m', 'POST', '-H', 'content-type=application/json', '-b', body, '--json', url];
        const { stdout } = await promisify(execFile)(...onCpu(1, autocannon, args), { maxBuffer: 1 << 24 });
        const result = JSON.parse(stdout) as { requests: { average: number }; latency: { p99: number }; non2xx: number; errors: number };
        if (result.non2xx || result.errors) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
        return { rps: result.requests.average, p99: result.latency.p99 };
      },
    };

function hasCommand(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version prints its usage and exits 1: present all the same.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

const SERVER = process.env.BENCH_GATEWAY_SERVER === 'triton' ? 'triton' : 'cloudshift';

/** Triton serving the bench's model from a folder store, as the migration's deployer starts it. */
async function startTriton(dir: string): Promise<{ url: string; metricsUrl: string; stop: () => Promise<void> }> {
  const { LocalFsStore } = await import('../src/clouds/local-store.js');
  const { TritonDeployer } = await import('../src/endpoints/triton.js');
  const { Readable } = await import('node:stream');
  const root = join(dir, 'store');
  const store = new LocalFsStore(root, 'bench');
  await store.ensureContainer();
  await store.write('model.onnx', Readable.from([readFileSync(join(ASSETS_DIR, 'breast-cancer.onnx'))]));
  const triton = new TritonDeployer({
    stateDir: join(dir, 'triton'),
    profileOf: () => undefined,
  });
  const endpoint = await triton.deploy({ migration: 'bench', side: 'target', store, location: { cloud: 'onprem', profile: 'bench', bucket: 'bench', prefix: '' }, modelKey: 'model.onnx', executionProvider: 'cpu', modelName: 'bench', server: 'triton' });
  const state = JSON.parse(readFileSync(join(dir, 'triton', 'bench', 'target', 'endpoint.json'), 'utf8')) as { pid: number; metricsUrl: string };
  if (PINNED) execFileSync('taskset', ['-a', '-p', '-c', '0', String(state.pid)]);
  return { url: endpoint.url, metricsUrl: state.metricsUrl, stop: () => triton.stop('bench', 'target') };
}

if (process.argv[3] === '--serve') {
  const server = await startInferenceServer({ model: new Uint8Array(readFileSync(join(ASSETS_DIR, 'breast-cancer.onnx'))), executionProvider: 'cpu', name: 'bench' });
  console.log(server.url);
} else {
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-gw-'));
  const router = new HaproxyRouter({ dir: join(dir, 'dataplane'), ports: { first: 28_080, last: 28_199 } });
  let anchorPid: number | undefined;
  let stopTriton: (() => Promise<void>) | undefined;
  try {
    const triton = SERVER === 'triton' ? await startTriton(dir) : undefined;
    stopTriton = triton?.stop;
    const endpoint =
      triton?.url ??
      (await new Promise<string>((resolve, reject) => {
        const child = spawn(...onCpu(0, process.execPath, [...process.execArgv, process.argv[1]!, 'gateway', '--serve']), { stdio: ['ignore', 'pipe', 'inherit'] });
        children.push(child);
        child.stdout!.once('data', (data: Buffer) => resolve(data.toString().trim()));
        child.once('exit', (code) => reject(new Error(`the endpoint exited with ${code}`)));
      }));
    const metricsOf = triton ? triton.metricsUrl : new URL('/metrics', endpoint).href;
    const anchor = await startAnchor(dir, new URL(endpoint).host);
    anchorPid = anchor.pid;
    // Both sides on the one endpoint, so every configuration measures the data plane, not a second model.
    const { url: cloudshift } = await router.ensure('bench', { source: endpoint, target: endpoint });
    if (PINNED) execFileSync('taskset', ['-p', '-c', '1', readFileSync(join(dir, 'dataplane', 'bench', 'haproxy.pid'), 'utf8').trim()]);
    let revision = 0;
    const configure = (mirror: boolean) => router.setWeights('bench', { revision: ++revision, targetPercent: 25, mirror });

    const row = holdoutRows()[0]!;
    const body = triton ? JSON.stringify({ inputs: [{ name: 'X', datatype: 'FP32', shape: [1, row.length], data: row }] }) : JSON.stringify({ instances: [row] });
    const path = triton ? '/v2/models/bench/infer' : '/v1/predict';
    const load = (url: string) => LOAD_GENERATOR.run(`${url}${path}`, body, SECONDS);
    const configurations = {
      direct: () => load(endpoint),
      anchor: () => load(anchor.url),
      cloudshift: async () => (await configure(false), load(cloudshift)),
      cloudshift_mirror: async () => (await configure(true), load(cloudshift)),
    };
    const names = Object.keys(configurations) as (keyof typeof configurations)[];
    const runs: Record<string, LoadRun[]> = Object.fromEntries(names.map((n) => [n, []]));
    // Warm every path once (the endpoint's JIT, HAProxy's server connections), untimed.
    for (const name of names) await configurations[name]();
    await settled(metricsOf);
    for (let r = 0; r < ROUNDS; r++) {
      log(`round ${r + 1}/${ROUNDS}: each configuration ${SECONDS} s, ${CONNECTIONS} connections`);
      const order = names.map((_, i) => names[(i + r) % names.length]!);
      for (const name of order) {
        runs[name]!.push(await configurations[name]());
        // Mirrored copies still in flight would load the endpoint during the next configuration.
        await settled(metricsOf);
      }
    }
    const rps = (name: string) => median(runs[name]!.map((x) => x.rps));
    const p99 = (name: string) => median(runs[name]!.map((x) => x.p99));
    // Ratios within a round, then their median: configurations measured a minute apart see the
    // same machine, while rounds minutes apart do not (one configuration's rounds varied by half).
    const ratio = (name: string, base: string) => median(runs[name]!.map((x, r) => x.rps / runs[base]![r]!.rps));
    const added = median(runs.cloudshift!.map((x, r) => x.p99 - runs.direct![r]!.p99));
    console.log(
      JSON.stringify({
        bench: 'gateway',
        server: SERVER,
        load_generator: LOAD_GENERATOR.name,
        pinned: PINNED,
        direct_rps: Math.round(rps('direct')),
        anchor_rps: Math.round(rps('anchor')),
        cloudshift_rps: Math.round(rps('cloudshift')),
        cloudshift_mirror_rps: Math.round(rps('cloudshift_mirror')),
        ratio_vs_direct: round(ratio('cloudshift', 'direct')),
        ratio_vs_anchor: round(ratio('cloudshift', 'anchor')),
        anchor_vs_direct: round(ratio('anchor', 'direct')),
        direct_p99_ms: round(p99('direct'), 2),
        anchor_p99_ms: round(p99('anchor'), 2),
        cloudshift_p99_ms: round(p99('cloudshift'), 2),
        cloudshift_mirror_p99_ms: round(p99('cloudshift_mirror'), 2),
        p99_added_ms: round(added, 2),
        rounds: Object.fromEntries(names.map((n) => [n, runs[n]!.map((x) => ({ rps: Math.round(x.rps), p99_ms: round(x.p99, 2) }))])),
      }),
    );
  } finally {
    await stopTriton?.();
    await router.releaseAll();
    if (anchorPid) process.kill(anchorPid);
    for (const child of children) child.kill();
  }
}

/** Waits until the endpoint has answered nothing for half a second (at most 30 s), by its own metrics (cloudshift's or Triton's). */
async function settled(metricsUrl: string): Promise<void> {
  const answered = async () => {
    const text = await (await fetch(metricsUrl)).text();
    return [...text.matchAll(/^(?:cloudshift_endpoint_requests_total|nv_inference_request_success)\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  const deadline = Date.now() + 30_000;
  let last = await answered();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await answered();
    if (now === last) return;
    last = now;
  }
}

/**
 * HAProxy as anyone would configure a weighted split: one backend, round robin, keep-alive, two
 * servers at 75 and 25 — the same two connection pools to the one endpoint as cloudshift's data
 * plane at 25 %, so the ratio measures cloudshift's configuration, not the topology.
 */
async function startAnchor(dir: string, endpoint: string): Promise<{ url: string; pid: number }> {
  const port = 28_000;
  const config = join(dir, 'anchor.cfg');
  writeFileSync(
    config,
    [
      'global',
      '  nbthread 1',
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      '  timeout client 65s',
      '  timeout server 30s',
      'frontend anchor',
      `  bind 127.0.0.1:${port}`,
      '  default_backend endpoint',
      'backend endpoint',
      '  balance roundrobin',
      `  server source ${endpoint} weight 75`,
      `  server target ${endpoint} weight 25`,
      '',
    ].join('\n'),
  );
  const pidFile = join(dir, 'anchor.pid');
  await promisify(execFile)(...onCpu(1, 'haproxy', ['-f', config, '-D', '-p', pidFile]));
  return { url: `http://127.0.0.1:${port}`, pid: Number(readFileSync(pidFile, 'utf8').trim()) };
}
