/**
 * What the data plane captured of mirrored requests: the source's answer as the caller got it and
 * the target's answer to the copy, kept together by HAProxy's Lua (deploy/haproxy/mirror.lua) and
 * read from its metrics port. The framing is the Lua's; this reads it, bounded and strictly.
 */

export interface MirroredPair {
  /** Epoch milliseconds the target's answer arrived. */
  at: number;
  id: string;
  path: string;
  sourceStatus: number;
  /** 0: the target gave no answer (refused, timed out). */
  targetStatus: number;
  source: Buffer;
  target: Buffer;
}

export interface MirroredCapture {
  pairs: MirroredPair[];
  /** Pairs the ring let go of to stay bounded since the data plane started. */
  dropped: number;
  /** Mirrored requests whose source answer was too large to keep whole. */
  skipped: number;
}

const HEADER = /^cloudshift-mirrored 1 dropped=(\d+) skipped=(\d+) pairs=(\d+)$/;
const RECORD = /^(\d+) (\S+) (\S+) (\d+) (\d+) (\d+) (\d+)$/;

export function parseMirrored(body: Buffer): MirroredCapture {
  let offset = 0;
  const line = (): string => {
    const end = body.indexOf(0x0a, offset);
    if (end < 0) throw new Error(`the data plane's mirrored answers end inside a record header at byte ${offset}`);
    const text = body.subarray(offset, end).toString('utf8');
    offset = end + 1;
    return text;
  };
  const header = HEADER.exec(line());
  if (!header) throw new Error("the data plane's mirrored answers do not start with cloudshift-mirrored 1: an HAProxy Lua of another version?");
  const count = Number(header[3]);
  const pairs: MirroredPair[] = [];
  for (let i = 0; i < count; i++) {
    const fields = RECORD.exec(line());
    if (!fields) throw new Error(`the data plane's mirrored answer ${i + 1} of ${count} has a malformed header`);
    const [sourceBytes, targetBytes] = [Number(fields[6]), Number(fields[7])];
    if (offset + sourceBytes + targetBytes > body.length) throw new Error(`the data plane's mirrored answer ${i + 1} of ${count} is cut short`);
    const source = body.subarray(offset, offset + sourceBytes);
    const target = body.subarray(offset + sourceBytes, offset + sourceBytes + targetBytes);
    offset += sourceBytes + targetBytes;
    pairs.push({ at: Number(fields[1]), id: fields[2]!, path: fields[3]!, sourceStatus: Number(fields[4]), targetStatus: Number(fields[5]), source, target });
  }
  return { pairs, dropped: Number(header[1]), skipped: Number(header[2]) };
}

/** The pairs the data plane at `metricsUrl` kept at or after `since` (epoch ms). */
export async function fetchMirrored(metricsUrl: string, since: number): Promise<MirroredCapture> {
  const url = new URL(`/cloudshift/mirrored?since=${Math.max(0, Math.floor(since))}`, metricsUrl);
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  if (!response.ok) throw new Error(`the data plane at ${url.origin} did not give its mirrored answers: HTTP ${response.status}`);
  return parseMirrored(Buffer.from(await response.arrayBuffer()));
}
