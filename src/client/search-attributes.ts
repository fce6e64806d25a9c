/**
 * cloudshift's search attributes must exist in the namespace before a migration starts: the
 * workflow upserts them, and in a namespace without them every workflow task fails with
 * BadSearchAttributes, retried for ever. Checked where a migration starts and where a worker
 * starts, with the command that adds them.
 */
import { SEARCH_ATTRIBUTE_NAMES } from '../workflows/definitions.js';

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD */
const KEYWORD = 2;

interface OperatorServiceLike {
  operatorService: { listSearchAttributes(request: { namespace: string }): Promise<{ customAttributes?: Record<string, number> | null }> };
}

export class MissingSearchAttributesError extends Error {
  override readonly name = 'MissingSearchAttributes';
  constructor(
    readonly namespace: string,
    readonly missing: string[],
  ) {
    super(
      `the namespace "${namespace}" lacks cloudshift's search attribute(s) ${missing.join(', ')}; add them once with:\n  ` +
        `temporal operator search-attribute create --namespace ${namespace} ${missing.map((name) => `--name ${name} --type Keyword`).join(' ')}`,
    );
  }
}

/** The names cloudshift needs that the namespace lacks, or of the wrong type. */
export async function missingSearchAttributes(connection: OperatorServiceLike, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  return SEARCH_ATTRIBUTE_NAMES.filter((name) => customAttributes?.[name] !== KEYWORD);
}

export async function requireSearchAttributes(connection: OperatorServiceLike, namespace: string): Promise<void> {
  const missing = await missingSearchAttributes(connection, namespace);
  if (missing.length > 0) throw new MissingSearchAttributesError(namespace, missing);
}
