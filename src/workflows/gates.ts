/**
 * Approval gates and the decision log. Temporal records who sent a signal only for terminate and
 * reset, so every approve and rollback is logged here with its sender, time, comment and the
 * evidence the decision followed.
 */
import { condition } from '@temporalio/workflow';
import { z } from 'zod';
import { type ApproveSignal, type RollbackSignal, SIGNAL_LIMITS } from './definitions.js';
import type { Decision, PendingGate, Phase } from './status.js';

export type { Decision, PendingGate } from './status.js';

export { SIGNAL_LIMITS } from './definitions.js';
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
  /** The approve the waiting gate took, until the gate acts on it. */
  private approveTaken: Decision | undefined;
  /** What each approve a gate took came to: approved, or overtaken by a rollback in the same instant. */
  private readonly outcomes = new Map<Decision, GateOutcome>();

  constructor(private readonly currentPhase: () => Phase) {}

  get rollbackRequested(): RollbackSignal | undefined {
    return this.rollbackRequest;
  }

  /** Why an approve would not be applied now ("ignored: …"), or undefined when it would. */
  approveRefusal(raw: unknown): string | undefined {
    const parsed = approveSchema.safeParse(raw);
    if (!parsed.success) return `ignored: malformed approve (${problems(parsed.error)})`;
    if (!this.pending) return this.pointOfNoReturn ? 'ignored: no gate was waiting (teardown has begun: nothing is left to approve)' : 'ignored: no gate was waiting';
    if (parsed.data.phase && parsed.data.phase !== this.pending.phase) return `ignored: the gate waiting is ${this.pending.phase}, not ${parsed.data.phase}`;
    return undefined;
  }

  /** Why a rollback would not be applied now, or undefined when it would. */
  rollbackRefusal(raw: unknown): string | undefined {
    const parsed = rollbackSchema.safeParse(raw);
    if (!parsed.success) return `ignored: a rollback needs by and reason (${problems(parsed.error)})`;
    if (this.pointOfNoReturn) return 'refused: teardown has begun; the source is being retired and cannot be rolled back to';
    if (this.rollbackRequest) return 'ignored: a rollback is already under way';
    return undefined;
  }

  /** Records an approve (applied or not, with why); returns the decision. */
  onApprove(raw: ApproveSignal): Decision {
    const at = new Date().toISOString();
    const refusal = this.approveRefusal(raw);
    const parsed = approveSchema.safeParse(raw);
    if (!parsed.success) return this.record({ at, action: 'approve', by: senderOf(raw), applied: false, note: refusal });
    const base = { at, action: 'approve' as const, by: parsed.data.by, phase: parsed.data.phase, comment: parsed.data.comment };
    if (refusal || !this.pending) return this.record({ ...base, applied: false, note: refusal });
    this.approvedPending = true;
    this.approveTaken = this.record({ ...base, phase: this.pending.phase, applied: true, evidence: this.pending.evidence });
    return this.approveTaken;
  }

  /** Records a rollback (applied or not, with why); returns the decision. */
  onRollback(raw: RollbackSignal): Decision {
    const at = new Date().toISOString();
    const phase = this.currentPhase();
    const refusal = this.rollbackRefusal(raw);
    const parsed = rollbackSchema.safeParse(raw);
    if (!parsed.success) return this.record({ at, action: 'rollback', by: senderOf(raw), phase, applied: false, note: refusal });
    const base = { at, action: 'rollback' as const, by: parsed.data.by, phase, comment: parsed.data.reason, evidence: this.pending?.evidence };
    if (refusal) return this.record({ ...base, applied: false, note: refusal });
    this.rollbackRequest = parsed.data;
    return this.record({ ...base, applied: true });
  }

  /**
   * What the gate did with an approve it took: the approver's reply waits for it, so an approve
   * that a rollback overtook in the same instant (both accepted within milliseconds; the rollback
   * wins) is not told the migration goes on.
   */
  async outcomeOf(decision: Decision): Promise<GateOutcome | undefined> {
    if (!decision.applied) return undefined;
    await condition(() => this.outcomes.has(decision));
    const outcome = this.outcomes.get(decision);
    this.outcomes.delete(decision);
    return outcome;
  }

  /** Adds to the decision log: operators' decisions, and the system's own (each canary analysis). */
  record(decision: Decision): Decision {
    this.decisions.push(decision);
    if (this.decisions.length > MAX_DECISIONS) {
      this.decisions.splice(0, this.decisions.length - MAX_DECISIONS);
      this.droppedDecisions++;
    }
    return decision;
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
      const outcome = this.rollbackRequest ? 'rollback' : 'approved';
      this.settleApprove(outcome);
      return outcome;
    } finally {
      this.settleApprove('rollback');
      this.pending = undefined;
    }
  }

  /** The approve the gate took meets what the gate did; one a rollback overtook says so in the log. */
  private settleApprove(outcome: GateOutcome): void {
    const taken = this.approveTaken;
    if (!taken) return;
    this.approveTaken = undefined;
    if (outcome !== 'approved') {
      taken.applied = false;
      taken.note = `overtaken: ${this.rollbackRequest ? `a rollback by ${this.rollbackRequest.by} arrived before the gate acted on this approve` : 'the gate ended without acting on it'}; the migration rolls back`;
    }
    this.outcomes.set(taken, outcome);
  }
}
