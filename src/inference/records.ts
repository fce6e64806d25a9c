/** What a file's header says, once enough of its bytes are in. */
export interface FramedHeader<H> {
  header: H;
  /** Where the records start. */
  headerBytes: number;
  /** Every record's size. */
  recordBytes: number;
}

/** Whole records, as many as one chunk completed. */
export interface RecordRun<H> {
  header: H;
  records: Buffer;
  count: number;
}

/**
 * Cuts a binary stream into a header and then whole fixed-size records, wherever its chunks
 * happen to end (a .npy holdout, a predictions file). After the stream, `header` says whether one
 * was read and `leftover` counts the bytes that made no whole record (or no header).
 */
export class RecordReader<H> {
  header: H | undefined;
  leftover = 0;

  /** `readHeader` answers undefined while the bytes cannot yet tell, and throws on a wrong header. */
  constructor(private readonly readHeader: (bytes: Buffer) => FramedHeader<H> | undefined) {}

  async *runs(body: AsyncIterable<unknown>): AsyncGenerator<RecordRun<H>> {
    let framing: FramedHeader<H> | undefined;
    let pending: Buffer = Buffer.alloc(0);
    for await (const chunk of body) {
      pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
      if (!framing) {
        framing = this.readHeader(pending);
        if (!framing) continue;
        this.header = framing.header;
        pending = pending.subarray(framing.headerBytes);
      }
      const count = Math.floor(pending.length / framing.recordBytes);
      if (count === 0) continue;
      const whole = count * framing.recordBytes;
      yield { header: framing.header, records: pending.subarray(0, whole), count };
      pending = pending.subarray(whole);
    }
    this.leftover = pending.length;
  }
}
