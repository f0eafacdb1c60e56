// A body that counts the bytes it passes on, for the audit's bytes-in figure. The count settles
// once, when the body has been read to its end, was cancelled or failed, whoever reads it. It
// is read in large chunks on the way (big-chunks.ts), so what follows (capnweb, in the front
// door) carries a few large messages rather than thousands of 4 KiB ones. A step (the
// scrubber) may change the chunks on the way; what is counted is what comes out of it.
import { throughBigChunks } from "./big-chunks";

export type ByteStep = { push(chunk: Uint8Array): Uint8Array; end(): Uint8Array };

const passOn: ByteStep = { push: (chunk) => chunk, end: () => new Uint8Array(0) };

export function countedBody(body: ReadableStream<Uint8Array> | null, onEnd: (bytes: number) => void, step: ByteStep = passOn): ReadableStream<Uint8Array> | null {
  if (!body) {
    onEnd(0);
    return null;
  }
  let bytes = 0;
  let settled = false;
  const settle = () => {
    if (settled) return;
    settled = true;
    onEnd(bytes);
  };
  return throughBigChunks(body, {
    transform(chunk, enqueue) {
      const out = step.push(chunk);
      bytes += out.byteLength;
      enqueue(out);
    },
    flush(enqueue) {
      const out = step.end();
      bytes += out.byteLength;
      enqueue(out);
      settle();
    },
    stop: settle,
  });
}
