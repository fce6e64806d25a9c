/**
 * Mirrored agreement from what the data plane captured: its framing read strictly, and the two
 * answers compared row by row whatever the servers send (errors, garbage, NaN, other row counts).
 */
import { describe, expect, it } from 'vitest';
import { joinMirrored } from '../../src/traffic/agreement.js';
import { parseMirrored } from '../../src/traffic/mirrored-answers.js';

const answer = (labels: number[], probabilities: number[][]) =>
  JSON.stringify({
    model_name: 'm',
    outputs: [
      { name: 'label', datatype: 'INT64', shape: [labels.length, 1], data: labels },
      { name: 'probabilities', datatype: 'FP32', shape: [labels.length, 2], data: probabilities.flat() },
    ],
  });

function framed(pairs: { source: string; target: string; sourceStatus?: number; targetStatus?: number }[], header = { dropped: 0, skipped: 0 }): Buffer {
  const parts: Buffer[] = [Buffer.from(`cloudshift-mirrored 1 dropped=${header.dropped} skipped=${header.skipped} pairs=${pairs.length}\n`)];
  pairs.forEach((p, i) => {
    const [s, t] = [Buffer.from(p.source), Buffer.from(p.target)];
    parts.push(Buffer.from(`${1000 + i} id-${i} /v2/models/m/infer ${p.sourceStatus ?? 200} ${p.targetStatus ?? 200} ${s.length} ${t.length}\n`), s, t);
  });
  return Buffer.concat(parts);
}

const reading = { outputs: { label: 'label', probabilities: 'probabilities' } };
const both = { source: reading, target: reading };
const a = answer([1, 0], [[0.2, 0.8], [0.9, 0.1]]);

describe('the data plane capture', () => {
  it('reads every pair, bodies with newlines and any bytes included', () => {
    const odd = `${a}\n\n\u00e9`;
    const capture = parseMirrored(framed([{ source: odd, target: a }, { source: a, target: '' }]));
    expect(capture.pairs.map((p) => [p.id, p.source.toString(), p.target.toString()])).toEqual([['id-0', odd, a], ['id-1', a, '']]);
    expect(capture.pairs[0]).toMatchObject({ at: 1000, path: '/v2/models/m/infer', sourceStatus: 200, targetStatus: 200 });
  });

  it('refuses another framing, a malformed record and a body cut short', () => {
    expect(() => parseMirrored(Buffer.from('<html>not found</html>\n'))).toThrow(/do not start with cloudshift-mirrored 1/);
    expect(() => parseMirrored(Buffer.from('cloudshift-mirrored 1 dropped=0 skipped=0 pairs=1\nbad header\n'))).toThrow(/answer 1 of 1 has a malformed header/);
    expect(() => parseMirrored(framed([{ source: a, target: a }]).subarray(0, 100))).toThrow(/cut short/);
    expect(() => parseMirrored(Buffer.from('cloudshift-mirrored 1 dropped=0 skipped=0 pairs=2\n'))).toThrow(/inside a record header/);
  });
});

describe('mirrored agreement from both answers', () => {
  it('agrees where the labels match, and reports how far the probabilities are apart', () => {
    const near = answer([1, 0], [[0.25, 0.75], [0.9, 0.1]]);
    const result = joinMirrored(parseMirrored(framed([{ source: a, target: near }])), both);
    expect(result).toMatchObject({ rows: 2, agreeing: 2, agreement: 1 });
    expect(result.maxProbabilityDelta).toBeCloseTo(0.05, 6);
  });

  it('counts permuted classes as disagreeing on every row', () => {
    const swapped = answer([0, 1], [[0.8, 0.2], [0.1, 0.9]]);
    expect(joinMirrored(parseMirrored(framed([{ source: a, target: swapped }])), both)).toMatchObject({ rows: 2, agreeing: 0, agreement: 0 });
  });

  it('a target that failed, answered garbage or another row count disagrees on every row of it', () => {
    const one = answer([1], [[0.2, 0.8]]);
    const capture = parseMirrored(framed([
      { source: a, target: '', targetStatus: 0 },
      { source: a, target: 'upstream error', targetStatus: 503 },
      { source: a, target: '{"outputs": "no"}' },
      { source: a, target: one },
      { source: a, target: a },
    ]));
    expect(joinMirrored(capture, both)).toMatchObject({ rows: 10, agreeing: 2, agreement: 0.2, targetFailed: 4 });
  });

  it('skips what the source failed (the error rate counts it), and says what the ring lost', () => {
    const capture = parseMirrored(framed([{ source: 'oops', target: a, sourceStatus: 500 }, { source: 'not json', target: a }], { dropped: 3, skipped: 1 }));
    expect(joinMirrored(capture, both)).toEqual({ rows: 0, agreeing: 0, lost: 4, unreadable: 1 });
  });

  it('a NaN probability on one side is as far apart as probabilities get', () => {
    const nan = JSON.stringify({ outputs: [{ name: 'label', datatype: 'INT64', shape: [2, 1], data: [1, 0] }, { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: [0.2, null, 0.9, 0.1] }] });
    expect(joinMirrored(parseMirrored(framed([{ source: a, target: nan }])), both)).toMatchObject({ rows: 2, agreeing: 2, maxProbabilityDelta: 1 });
  });

  it('reads cloudshift\'s own V1 answers where the caller used /v1/predict', () => {
    const v1 = (labels: number[]) => JSON.stringify({ model: 'x', predictions: labels.map((label) => ({ score: label ? 0.9 : 0.1, label })) });
    const body = Buffer.concat([
      Buffer.from('cloudshift-mirrored 1 dropped=0 skipped=0 pairs=1\n'),
      Buffer.from(`1000 id-0 /v1/predict 200 200 ${Buffer.byteLength(v1([1, 0]))} ${Buffer.byteLength(v1([1, 1]))}\n`),
      Buffer.from(v1([1, 0])),
      Buffer.from(v1([1, 1])),
    ]);
    expect(joinMirrored(parseMirrored(body), both)).toMatchObject({ rows: 2, agreeing: 1, agreement: 0.5 });
  });

  it('reads each side by its own output names, and regressors by value within 0.1 %', () => {
    const source = JSON.stringify({ outputs: [{ name: 'variable', datatype: 'FP32', shape: [3, 1], data: [10, 20, 30] }] });
    const target = JSON.stringify({ outputs: [{ name: 'y', datatype: 'FP64', shape: [3], data: [10.005, 20, 31] }] });
    const result = joinMirrored(parseMirrored(framed([{ source, target }])), { source: { outputs: { value: 'variable' } }, target: { outputs: { value: 'y' } } });
    expect(result).toEqual({ rows: 3, agreeing: 2, agreement: 2 / 3 });
  });
});
