/**
 * Approval gates and the decision log. Temporal records who sent a signal only for terminate and
 * reset, so every approve and rollback is logged here with its sender, time, comment and the
 * evidence the decision followed.
 */
import { condition } from '@temporalio/workflow';
import { z } from 'zod';
import type { ApproveSignal, RollbackSignal } from './definitions.js';
import type { Decision, PendingGate, Phase } from './status.js';

export type { Decision, PendingGate } from './status.js';

/**
 * Bounds on what an operator's message may add to workflow state. A signal's payload is in
 * history whatever its size, but what the workflow keeps is queried and returned: a 1 MB reason
 * kept whole made the status query and the workflow's result exceed Temporal's payload limit.
 */
export const SIGNAL_LIMITS = { by: 200, phase: 32, comment: 2000, reason: 2000 } as const;
/** Decisions kept in full; older ones are counted, not kept, so the log cannot grow without bound. */
export const MAX_DECISIONS = 100;

const approveSchema = z.object({
  by: z.string().min(1).max(SIGNAL_LIMITS.by),
  phase: z.string().max(SIGNAL_LIMITS.phase).optional(),
  comment: z.string().max(SIGNAL_LIMITS.comment).optional(),
});
const rollbackSchema = z.object({ by: z.string().min(1).max(SIGNAL_LIMITS.by), reason: z.string().min(1).max(SIGNAL_LIMITS.reason) });

/** Who sent a malformed message, as far as it says, cut to a size the log can keep. */
function senderOf(raw: unknown): string {
  const by = raw !== null && typeof raw === 'object' ? (raw as { by?: unknown }).by : undefined;
  const text = typeof by === 'string' && by.length > 0 ? by : 'unknown';
  return text.length > SIGNAL_LIMITS.by ? `${text.slice(0, SIGNAL_LIMITS.by)}…` : text;
}

/** What was wrong with a payload, in a line: the fields and the rule each broke. */
function problems(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || 'payload'}: ${i.code === 'too_big' ? `longer than ${String((i as { maximum?: number }).maximum)} characters` : i.code === 'unrecognized_keys' ? 'unknown field' : 'missing or not text'}`)
    .join('; ');
}



export type GateOutcome = 'approved' | 'rollback' | 'timedOut';

export interface GateOptions {
  timeoutSeconds?: number;
  onTimeout: 'rollback' | 'wait';
}

export class Gatekeeper {
  readonly decisions: Decision[] = [];
  /** Decisions dropped from the front of the log to keep it within MAX_DECISIONS. */
  droppedDecisions = 0;
  pending: PendingGate | undefined;
  /** Set when teardown begins: from then on rollback is refused. */
  pointOfNoReturn = false;
  private approvedPending = false;
  private rollbackRequest: RollbackSignal | undefined;

  constructor(private readonly currentPhase: () => Phase) {}

  get rollbackRequested(): RollbackSignal | undefined {
    return this.rollbackRequest;
  }

  onApprove(raw: ApproveSignal): void {
    const now = new Date().toISOString();
    const parsed = approveSchema.safeParse(raw);
    if (!parsed.success) {
      this.record({ at: now, action: 'approve', by: senderOf(raw), applied: false, note: `ignored: malformed approve (${problems(parsed.error)})` });
      return;
    }
    const signal = parsed.data;
    const base = { at: now, action: 'approve' as const, by: signal.by, phase: signal.phase, comment: signal.comment };
    if (!this.pending) {
      this.record({ ...base, applied: false, note: 'ignored: no gate was waiting' });
    } else if (signal.phase && signal.phase !== this.pending.phase) {
      this.record({ ...base, applied: false, note: `ignored: the gate waiting is ${this.pending.phase}, not ${signal.phase}` });
    } else {
      this.approvedPending = true;
      this.record({ ...base, phase: this.pending.phase, applied: true, evidence: this.pending.evidence });
    }
  }

  onRollback(raw: RollbackSignal): void {
    const now = new Date().toISOString();
    const parsed = rollbackSchema.safeParse(raw);
    const phase = this.currentPhase();
    if (!parsed.success) {
      this.record({ at: now, action: 'rollback', by: senderOf(raw), phase, applied: false, note: `ignored: a rollback needs by and reason (${problems(parsed.error)})` });
      return;
    }
    const base = { at: now, action: 'rollback' as const, by: parsed.data.by, phase, comment: parsed.data.reason, evidence: this.pending?.evidence };
    if (this.pointOfNoReturn) {
      this.record({ ...base, applied: false, note: 'refused: teardown has begun; the source is being retired and cannot be rolled back to' });
    } else if (this.rollbackRequest) {
      this.record({ ...base, applied: false, note: 'ignored: a rollback is already under way' });
    } else {
      this.rollbackRequest = parsed.data;
      this.record({ ...base, applied: true });
    }
  }

  private record(decision: Decision): void {
    this.decisions.push(decision);
    if (this.decisions.length > MAX_DECISIONS) {
      this.decisions.splice(0, this.decisions.length - MAX_DECISIONS);
      this.droppedDecisions++;
    }
  }

  /** Waits for an approval of this phase, a rollback, or the timeout. */
  async wait(phase: Phase, waitingFor: string, evidence: string | undefined, options: GateOptions): Promise<GateOutcome> {
    if (this.rollbackRequest) return 'rollback';
    const since = new Date();
    this.approvedPending = false;
    this.pending = {
      phase,
      waitingFor,
      since: since.toISOString(),
      evidence,
      deadline: options.timeoutSeconds ? new Date(since.getTime() + options.timeoutSeconds * 1000).toISOString() : undefined,
    };
    const decided = () => this.approvedPending || this.rollbackRequest !== undefined;
    try {
      if (options.timeoutSeconds !== undefined) {
        const inTime = await condition(decided, options.timeoutSeconds * 1000);
        if (!inTime) {
          const giveUp = options.onTimeout === 'rollback';
          this.record({
            at: new Date().toISOString(),
            action: 'timeout',
            by: 'cloudshift',
            phase,
            applied: giveUp,
            note: giveUp ? `no decision within ${options.timeoutSeconds}s: rolling back, as the spec says` : `no decision within ${options.timeoutSeconds}s: still waiting, as the spec says`,
            evidence,
          });
          if (giveUp) return 'timedOut';
          this.pending.deadline = undefined;
          await condition(decided);
        }
      } else {
        await condition(decided);
      }
      return this.rollbackRequest ? 'rollback' : 'approved';
    } finally {
      this.pending = undefined;
    }
  }
}
