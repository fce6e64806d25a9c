/** What a look at a model's artifact found: the audit shows it, the status keeps it. */
import type { FINDING_SEVERITIES } from '../spec.js';
import type { ProvenanceSummary } from './provenance.js';

export interface ArtifactCheck {
  /** The folder, as a URI. */
  folder: string;
  signature: string;
  /**
   * verified: signed by a trusted key and every file as signed; unsigned: no bundle (the policy
   * allows it); unverified: a bundle, but no policy names a key to check it with; invalid: the
   * audit found the signature or a file wrong (the target refuses it).
   */
  state: 'verified' | 'unsigned' | 'unverified' | 'invalid';
  signer?: string;
  keyHint?: string;
  files: number;
  bytes: number;
  /** What is wrong or missing, when not verified. */
  problem?: string;
  /** The provenance statement, read and checked to describe these very files. */
  provenance?: ProvenanceSummary;
  /** The audit finding's severity, when not verified. */
  severity?: (typeof FINDING_SEVERITIES)[number];
}
