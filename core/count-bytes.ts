// A response whose body counts the bytes that pass through it, for the audit's bytes-in figure.
// The count settles when the body has been read to its end, was cancelled or failed, whoever
// reads it. The body is read in large chunks on the way (big-chunks.ts), so what follows
// (capnweb, in the front door) carries a few large messages rather than thousands of 4 KiB ones.
import { throughBigChunks } from "./big-chunks";

export function countingBody(response: Response): { response: Response; bytesIn: Promise<number> } {
  if (!response.body) return { response, bytesIn: Promise.resolve(0) };
  let bytes = 0;
  let done!: (n: number) => void;
  const bytesIn = new Promise<number>((r) => (done = r));
  const counted = throughBigChunks(response.body, {
    transform(chunk, enqueue) {
      bytes += chunk.byteLength;
      enqueue(chunk);
    },
    flush: () => done(bytes),
    stop: () => done(bytes),
  });
  return { response: new Response(counted, response), bytesIn };
}
