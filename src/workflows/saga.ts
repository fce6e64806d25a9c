/**
 * The saga of one migration: a compensation is pushed right after the step it undoes succeeds;
 * on rollback they run in reverse, in a scope no cancellation reaches, each to the end even when
 * an earlier one failed, and each outcome is recorded.
 */
import { CancellationScope } from '@temporalio/workflow';
import { failureMessage } from '../format.js';
import type { Phase } from './status.js';

export { failureMessage } from '../format.js';


export interface Compensation {
  phase: Phase;
  what: string;
  undo: () => Promise<unknown>;
}

export interface CompensationOutcome {
  phase: Phase;
  what: string;
  outcome: 'done' | 'failed';
  error?: string;
}

export class Saga {
  private readonly steps: Compensation[] = [];

  push(step: Compensation): void {
    this.steps.push(step);
  }

  /** Runs every compensation, last pushed first; `onOutcome` sees each as it ends. Empties the saga. */
  async compensate(onOutcome: (outcome: CompensationOutcome) => void): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      for (const c of this.steps.reverse()) {
        try {
          await c.undo();
          onOutcome({ phase: c.phase, what: c.what, outcome: 'done' });
        } catch (error) {
          onOutcome({ phase: c.phase, what: c.what, outcome: 'failed', error: failureMessage(error) });
        }
      }
    });
    this.steps.length = 0;
  }
}
