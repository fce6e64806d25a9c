/**
 * String class labels as numbers: the comparison, the predictions file and the canary work on
 * numbers, and a model trained on ["fraud", "ok"] is among the most common there are. Each side
 * codes its classes in its own activity, so the code must depend on the string alone, not on the
 * class list or its order: two sides with the same classes in another order, or a holdout label
 * the model never serves, must code alike. FNV-1a over the UTF-8 bytes, 32 bits: exact in a double,
 * and a collision within one model's classes is refused where it would matter.
 */
const encoder = new TextEncoder();

export function classCode(label: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(label)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The codes of a model's string classes, in its column order; a collision between two of them is refused. */
export function classCodes(labels: readonly string[]): number[] {
  const codes = labels.map(classCode);
  const seen = new Map<number, string>();
  codes.forEach((code, i) => {
    const other = seen.get(code);
    if (other !== undefined && other !== labels[i]) throw new Error(`the class labels "${other}" and "${labels[i]}" share the code ${code}; rename one`);
    seen.set(code, labels[i]!);
  });
  return codes;
}
