// Lingering close after a 413 (as nginx does): the client is usually still sending the body we
// refused. Closing the socket at once makes its kernel answer the rest with a reset, and a reset
// throws away the 413 it has not read yet, so fetch() and browsers report a network error
// instead. So the rest of the body is read and discarded, up to a bound, and the connection
// lives on; past the bound it is closed after all.
import type { IncomingMessage } from 'node:http';

/** What is read after a refusal before giving up on the client: bytes, and time. */
export const LINGER_MAX_BYTES = 64 * 1024 * 1024;
export const LINGER_MAX_MS = 10_000;

export function discardRestOfBody(request: IncomingMessage, limits = { bytes: LINGER_MAX_BYTES, ms: LINGER_MAX_MS }): void {
  if (request.complete || request.destroyed) return;
  let discarded = 0;
  const giveUp = () => {
    cleanUp();
    request.socket.destroy();
  };
  const timer = setTimeout(giveUp, limits.ms);
  timer.unref();
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > limits.bytes) giveUp();
  };
  const cleanUp = () => {
    clearTimeout(timer);
    request.off('data', onData);
    request.off('end', cleanUp);
    request.off('close', cleanUp);
  };
  request.on('data', onData);
  request.once('end', cleanUp);
  request.once('close', cleanUp);
  request.resume();
}
