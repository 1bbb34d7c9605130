// Splits a byte stream into lines for the importer, keeping what JSON.parse cannot tell: the
// line's number, whether it was valid UTF-8, and whether it ended with a newline (a missing one
// means the file was cut off).
import { TransferError } from './transfer.format.ts';

export type Line = { number: number; text: string; terminated: boolean };

/** A dump line is one account row; anything this long is not a dump. */
export const MAX_LINE_BYTES = 1024 * 1024;

export async function* readLines(input: AsyncIterable<Buffer | string>, maxBytes = MAX_LINE_BYTES): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (bytes: Buffer, number: number): string => {
    try {
      return decoder.decode(bytes).replace(/\r$/, '');
    } catch {
      throw new TransferError(number, 'not valid UTF-8');
    }
  };
  let number = 0;
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let data = pending.length > 0 ? Buffer.concat([pending, bytes]) : bytes;
    let newline: number;
    while ((newline = data.indexOf(0x0a)) >= 0) {
      number += 1;
      if (newline > maxBytes) throw new TransferError(number, `longer than ${maxBytes} bytes`);
      yield { number, text: decode(data.subarray(0, newline), number), terminated: true };
      data = data.subarray(newline + 1);
    }
    if (data.length > maxBytes) throw new TransferError(number + 1, `longer than ${maxBytes} bytes`);
    pending = data;
  }
  if (pending.length > 0) {
    number += 1;
    yield { number, text: decode(pending, number), terminated: false };
  }
}
