/** A decision sent as a signal is refused before it is sent when it is larger than its fields allow: signals stay in history. */
import type { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { DecisionRejectedError, MAX_SIGNAL_BYTES, MigrationClient } from '../../src/client/index.js';

function clientRecording(sent: unknown[]): MigrationClient {
  const fake = { workflow: { getHandle: () => ({ signal: async (_def: unknown, payload: unknown) => void sent.push(payload) }) } };
  return new MigrationClient(fake as unknown as Client);
}

describe('signals bounded by what Temporal stores', () => {
  it('sends a decision within its bounds, and refuses a 1.9 MB one without sending anything', async () => {
    const sent: unknown[] = [];
    const client = clientRecording(sent);
    await client.signalApprove('m', { by: 'alice', phase: 'canary', comment: 'looks good' });
    expect(sent).toHaveLength(1);
    const huge = { by: 'mallory', phase: 'canary', comment: 'x'.repeat(1_900_000) };
    await expect(client.signalApprove('m', huge)).rejects.toBeInstanceOf(DecisionRejectedError);
    await expect(client.signalRollback('m', { by: 'mallory', reason: 'é'.repeat(MAX_SIGNAL_BYTES) })).rejects.toThrow(/refused before it is sent .*Temporal terminates a workflow whose history passes its limit/);
    expect(sent).toHaveLength(1);
  });
});
