// Streams a body in large chunks. A byte stream (a fetch body, a body that crossed Workers RPC)
// read with the default reader comes in the runtime's 4 KiB pieces, and every piece then costs a
// promise turn in each JS stage after it and, over capnweb, one message and one ack: 2,560 of
// each for 10 MiB. A BYOB read returns whatever is already buffered, up to the buffer's size, and
// waits for no more than the first byte, so it coalesces without holding back a slow stream.

/** Large enough that a 10 MiB body is ~160 chunks; small enough to stay under capnweb's window. */
export const BIG_CHUNK_BYTES = 64 * 1024;

export type ChunkStep = {
  /** Called with each chunk read; what it enqueues goes downstream. */
  transform(chunk: Uint8Array, enqueue: (out: Uint8Array) => void): void;
  /** Called once the source has ended, before the output closes. */
  flush?(enqueue: (out: Uint8Array) => void): void;
  /** Called when the source errored or the output was cancelled. */
  stop?(): void;
};

/** Streams made here, so a body already in large chunks is not wrapped again. */
const big = new WeakSet<ReadableStream>();

/** `response` with its body in large chunks (as is, if it already is). */
export function inBigChunks(response: Response): Response {
  if (!response.body || big.has(response.body)) return response;
  return new Response(throughBigChunks(response.body, { transform: (chunk, enqueue) => enqueue(chunk) }), response);
}

/** `source` read in chunks of up to `size` bytes (BYOB when the source is a byte stream), through `step`. */
export function throughBigChunks(source: ReadableStream<Uint8Array>, step: ChunkStep, size = BIG_CHUNK_BYTES): ReadableStream<Uint8Array> {
  const read = chunkReader(source, size);
  const out = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const enqueue = (out: Uint8Array) => {
        if (out.byteLength) controller.enqueue(out);
      };
      let chunk: Uint8Array | null;
      try {
        chunk = await read.next();
      } catch (err) {
        step.stop?.();
        throw err;
      }
      if (chunk) return step.transform(chunk, enqueue);
      step.flush?.(enqueue);
      controller.close();
    },
    cancel(reason) {
      step.stop?.();
      return read.cancel(reason);
    },
  });
  big.add(out);
  return out;
}

type ChunkReader = { next(): Promise<Uint8Array | null>; cancel(reason?: unknown): Promise<void> };

function chunkReader(source: ReadableStream<Uint8Array>, size: number): ChunkReader {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = source.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream (one built in JS): its chunks are whatever its producer made them.
    const reader = source.getReader();
    return { next: async () => ((r) => (r.done ? null : r.value))(await reader.read()), cancel: (reason) => reader.cancel(reason) };
  }
  // A read that filled little of its buffer hands on a copy and keeps the buffer for the next
  // read, so a trickling body does not hold a whole buffer per small chunk.
  let spare: ArrayBuffer | null = null;
  return {
    async next() {
      for (;;) {
        const { done, value } = await byob.read(new Uint8Array(spare ?? new ArrayBuffer(size)));
        spare = null;
        if (done) return null;
        if (value.byteLength * 2 >= size) return value;
        spare = value.buffer as ArrayBuffer;
        if (value.byteLength) return value.slice();
      }
    },
    cancel: (reason) => byob.cancel(reason),
  };
}
