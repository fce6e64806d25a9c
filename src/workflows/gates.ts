/**
 * Approval gates and the decision log. Temporal records who sent a signal only for terminate and
 * reset, so every approve and rollback is logged here with its sender, time, comment and the
 * evidence the decision followed.
 */
import { condition } from '@temporalio/workflow';
import { z } from 'zod';
import type { ApproveSignal, RollbackSignal } from './definitions.js';
import type { Phase } from './status.js';

const approveSchema = z.object({ by: z.string().min(1), phase: z.string().optional(), comment: z.string().optional() });
const rollbackSchema = z.object({ by: z.string().min(1), reason: z.string().min(1) });

export interface Decision {
  at: string;
  action: 'approve' | 'rollback' | 'timeout';
  by: string;
  /** The phase the sender meant (approve) or the phase running when it arrived (rollback). */
  phase?: string;
  comment?: string;
  /** False when the decision was recorded but not acted on, with why in `note`. */
  applied: boolean;
  note?: string;
  /** What the decision was taken on: the gate's report or analysis. */
  evidence?: string;
}

export interface PendingGate {
  phase: Phase;
  waitingFor: string;
  since: string;
  evidence?: string;
  /** When the gate gives up, if it does. */
  deadline?: string;
}

export type GateOutcome = 'approved' | 'rollback' | 'timedOut';

export interface GateOptions {
  timeoutSeconds?: number;
  onTimeout: 'rollback' | 'wait';
}

export class Gatekeeper {
  readonly decisions: Decision[] = [];
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
      this.decisions.push({ at: now, action: 'approve', by: String((raw as { by?: unknown })?.by ?? 'unknown'), applied: false, note: `ignored: malformed approve signal (${parsed.error.issues.map((i) => i.path.join('.') || 'payload').join(', ')})` });
      return;
    }
    const signal = parsed.data;
    const base = { at: now, action: 'approve' as const, by: signal.by, phase: signal.phase, comment: signal.comment };
    if (!this.pending) {
      this.decisions.push({ ...base, applied: false, note: 'ignored: no gate was waiting' });
    } else if (signal.phase && signal.phase !== this.pending.phase) {
      this.decisions.push({ ...base, applied: false, note: `ignored: the gate waiting is ${this.pending.phase}, not ${signal.phase}` });
    } else {
      this.approvedPending = true;
      this.decisions.push({ ...base, phase: this.pending.phase, applied: true, evidence: this.pending.evidence });
    }
  }

  onRollback(raw: RollbackSignal): void {
    const now = new Date().toISOString();
    const parsed = rollbackSchema.safeParse(raw);
    const phase = this.currentPhase();
    if (!parsed.success) {
      this.decisions.push({ at: now, action: 'rollback', by: String((raw as { by?: unknown })?.by ?? 'unknown'), phase, applied: false, note: 'ignored: a rollback needs by and reason' });
      return;
    }
    const base = { at: now, action: 'rollback' as const, by: parsed.data.by, phase, comment: parsed.data.reason, evidence: this.pending?.evidence };
    if (this.pointOfNoReturn) {
      this.decisions.push({ ...base, applied: false, note: 'refused: teardown has begun; the source is being retired and cannot be rolled back to' });
    } else if (this.rollbackRequest) {
      this.decisions.push({ ...base, applied: false, note: 'ignored: a rollback is already under way' });
    } else {
      this.rollbackRequest = parsed.data;
      this.decisions.push({ ...base, applied: true });
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
          this.decisions.push({
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
