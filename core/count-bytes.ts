// A response whose body counts the bytes that pass through it, for the audit's bytes-in figure.
// The count settles when the body has been read to its end or was cancelled, whoever reads it.

export function countingBody(response: Response): { response: Response; bytesIn: Promise<number> } {
  if (!response.body) return { response, bytesIn: Promise.resolve(0) };
  let bytes = 0;
  let done!: (n: number) => void;
  const bytesIn = new Promise<number>((r) => (done = r));
  const counted = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        bytes += chunk.byteLength;
        c.enqueue(chunk);
      },
      flush: () => done(bytes),
      cancel: () => done(bytes),
    }),
  );
  return { response: new Response(counted, response), bytesIn };
}
