/** Runs the shadow comparison on a thread of its own (see compare-thread.ts), heartbeating while it works. */
import type { ReportInput, ShadowReport } from '../compare/report.js';
import { errorFromThread } from '../errors.js';
import { spawnModuleThread } from '../threads.js';
import type { CompareReply } from './compare-thread.js';

export interface CompareOptions {
  /** Called every `beatMs` while the thread works; a throw (the activity was cancelled) stops it. */
  heartbeat?: () => void;
  /** @default 5000 */
  beatMs?: number;
  signal?: AbortSignal;
}

export async function compareOffThread(input: ReportInput, options: CompareOptions = {}): Promise<{ report: ShadowReport; html: string }> {
  const worker = spawnModuleThread(import.meta.url, 'compare-thread');
  const beat = setInterval(() => options.heartbeat?.(), options.beatMs ?? 5000);
  try {
    return await new Promise((resolve, reject) => {
      options.signal?.addEventListener('abort', () => reject(options.signal!.reason instanceof Error ? options.signal!.reason : new Error('the comparison was cancelled')), { once: true });
      worker.once('message', (reply: CompareReply) => {
        if (reply.type === 'done') resolve(reply);
        else reject(errorFromThread(reply.name, reply.message));
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the comparison thread exited (code ${code}) before it answered`)));
      worker.postMessage(input);
    });
  } finally {
    clearInterval(beat);
    await worker.terminate();
  }
}
