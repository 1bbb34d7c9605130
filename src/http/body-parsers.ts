// Request bodies: JSON, url-encoded form and multipart form (the seed page: "JSON, url-encoded
// form data, etc."). Strict: invalid UTF-8, a repeated form field or a file upload is a 400;
// parsed objects have no prototype, so keys such as __proto__ stay plain data.
import { Busboy, type BusboyConfig, type BusboyInstance } from '@fastify/busboy';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../kernel/errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function malformed(detail: string): ApiError {
  return new ApiError('malformed_body', { detail });
}

function decodeUtf8(buffer: Buffer): string {
  try {
    return utf8.decode(buffer);
  } catch {
    throw malformed('The request body is not valid UTF-8.');
  }
}

/** No body of this API nests (its values are strings); a deeper one is refused, not ignored. */
export const MAX_JSON_DEPTH = 32;

/** The deepest nesting of arrays and objects in a JSON text (strings skipped). */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

export function parseJsonBody(buffer: Buffer): unknown {
  const text = decodeUtf8(buffer);
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text); // own properties only: JSON.parse never sets a prototype
  } catch {
    throw malformed('The request body is not valid JSON.');
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw malformed('The request body is nested too deeply.');
  return value;
}

function addField(target: Record<string, string>, name: string, value: string): void {
  if (Object.hasOwn(target, name)) throw malformed(`The field "${name}" is given more than once.`);
  target[name] = value;
}

export function parseUrlEncodedBody(buffer: Buffer): Record<string, string> {
  const text = decodeUtf8(buffer);
  const fields = Object.create(null) as Record<string, string>;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const [rawName, rawValue] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    try {
      // decodeURIComponent throws on percent-encoded invalid UTF-8, unlike URLSearchParams.
      addField(fields, decodeURIComponent(rawName.replaceAll('+', ' ')), decodeURIComponent(rawValue.replaceAll('+', ' ')));
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw malformed('The form body is not valid url-encoded UTF-8.');
    }
  }
  return fields;
}

function parseMultipartBody(request: FastifyRequest, payload: NodeJS.ReadableStream, bodyLimit: number): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const fields = Object.create(null) as Record<string, string>;
    let failed = false;
    let finished = false;
    let pending = 0; // parts still being read
    const fail = (error: ApiError) => {
      if (failed) return;
      failed = true;
      payload.unpipe();
      payload.resume(); // drain what is left so the connection can answer
      reject(error);
    };
    const settle = () => {
      if (!failed && finished && pending === 0) resolve(fields);
    };
    let parser: BusboyInstance;
    try {
      // Every part comes as raw bytes (a "file" to busboy), so that its text is decoded here,
      // strictly: busboy's own decoding would turn invalid UTF-8 into U+FFFD silently.
      parser = new Busboy({
        headers: request.headers as BusboyConfig['headers'],
        limits: { fields: 100, parts: 100, fieldSize: bodyLimit },
        isPartAFile: () => true,
      });
    } catch {
      reject(malformed('The multipart body has no boundary.'));
      return;
    }
    if (Number(request.headers['content-length'] ?? 0) > bodyLimit) {
      fail(new ApiError('request_too_large'));
      return;
    }
    let received = 0;
    payload.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > bodyLimit) fail(new ApiError('request_too_large'));
    });
    parser.on('file', (name: string, stream: NodeJS.ReadableStream, filename: string | undefined, _encoding: string, mimetype: string) => {
      if (filename !== undefined || mimetype === 'application/octet-stream') {
        stream.on('error', () => undefined); // the request has failed already
        stream.resume();
        fail(malformed(`The field "${name}" is a file; only text fields are accepted.`));
        return;
      }
      pending++;
      const chunks: Buffer[] = [];
      // A part cut short (no closing boundary) is an error on its stream: unheard, it would crash the process.
      stream.on('error', () => fail(malformed('The multipart body is malformed.')));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        pending--;
        if (failed) return;
        try {
          addField(fields, name, decodeUtf8(Buffer.concat(chunks)));
        } catch (error) {
          fail(error as ApiError);
          return;
        }
        settle();
      });
    });
    parser.on('error', () => fail(malformed('The multipart body is malformed.')));
    parser.on('finish', () => {
      finished = true;
      settle();
    });
    payload.pipe(parser);
  });
}

/** Replaces Fastify's parsers with ours. Anything else is a 415. */
export function registerBodyParsers(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    try {
      done(null, parseUrlEncodedBody(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('multipart/form-data', (request: FastifyRequest, payload: IncomingMessage) => parseMultipartBody(request, payload, bodyLimit));
}
