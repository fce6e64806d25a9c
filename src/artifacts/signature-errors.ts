import { NonRetryableError } from '../errors.js';

/** A signature that does not verify, a signer the policy does not trust, a bundle that is not one. */
export class ArtifactSignatureInvalid extends NonRetryableError {
  constructor(message: string, context: NonRetryableError['context'] = {}) {
    super('ArtifactSignatureInvalid', message, context);
  }
}
