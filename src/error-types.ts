/**
 * Every error type that retrying cannot fix, in one list: the activities' failures carry these
 * types, and every retry policy of ours lists them as non-retryable. Pure, so workflows import it.
 */
export const NON_RETRYABLE_TYPES = [
  // The spec, the locations, the profiles: what a person wrote.
  'InvalidMigrationSpec',
  'InvalidLocations',
  // A name that an earlier run used, whose folder and copies this run must not touch.
  'MigrationNameReused',
  'UnknownProfile',
  'UnknownKey',
  // The stores' answers that a retry cannot change (StoreError kinds).
  'AccessDenied',
  'NotFound',
  'InvalidRequest',
  // A source object whose bytes, read twice, lack the MD5 it states (copy/source-digest.ts).
  'SourceChecksumMismatch',
  // The model, the holdout and the predictions.
  'ModelChecksumMismatch',
  'ModelNotInManifest',
  'ExecutionProviderUnavailable',
  'HoldoutFormatError',
  'UnsupportedModelOutput',
  // A model its holdout cannot feed, or whose answer cannot be read; one ONNX Runtime refused to run.
  'ModelInterfaceMismatch',
  'ModelRunFailed',
  // A holdout row with a NaN or infinite feature, where the spec says to fail on them.
  'HoldoutNonFinite',
  'OnnxFormatError',
  'PredictionsFormatError',
  'ShadowInputError',
  // The model's signed artifact: a signature or a file that is not what the signer vouched for.
  'ArtifactSignatureInvalid',
  'ArtifactDigestMismatch',
  'ArtifactProvenanceInvalid',
  // The audit's inputs, and what the pre-flight found the migration would fail on.
  'PreflightFailed',
  'InvalidPriceTable',
  'InvalidAuditInput',
  // An inference server that answers another protocol, model, shape, datatype or class set.
  'EndpointMismatch',
  // The canary's router: a port the spec fixed that something else holds.
  'DataPlanePortTaken',
] as const;

export type NonRetryableType = (typeof NON_RETRYABLE_TYPES)[number];

export const isNonRetryableType = (type: string): type is NonRetryableType => (NON_RETRYABLE_TYPES as readonly string[]).includes(type);
