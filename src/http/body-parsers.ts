// Request bodies: JSON, url-encoded form and multipart form (the seed page: "JSON, url-encoded
// form data, etc."). Strict: invalid UTF-8, a repeated form field or a file upload is a 400;
// parsed objects have no prototype, so keys such as __proto__ stay plain data.
import { Busboy, type BusboyConfig, type BusboyInstance } from '@fastify/busboy';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';

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

export function parseJsonBody(buffer: Buffer): unknown {
  const text = decodeUtf8(buffer);
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text); // own properties only: JSON.parse never sets a prototype
  } catch {
    throw malformed('The request body is not valid JSON.');
  }
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
    const fail = (error: ApiError) => {
      if (failed) return;
      failed = true;
      payload.unpipe();
      payload.resume(); // drain what is left so the connection can answer
      reject(error);
    };
    let parser: BusboyInstance;
    try {
      parser = new Busboy({ headers: request.headers as BusboyConfig['headers'], limits: { fields: 100, parts: 100, fieldSize: bodyLimit } });
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
    parser.on('field', (name: string, value: string) => {
      if (failed) return;
      try {
        addField(fields, name, value);
      } catch (error) {
        fail(error as ApiError);
      }
    });
    parser.on('file', (name: string, stream: NodeJS.ReadableStream) => {
      stream.resume();
      fail(malformed(`The field "${name}" is a file; only text fields are accepted.`));
    });
    parser.on('error', () => fail(malformed('The multipart body is malformed.')));
    parser.on('finish', () => {
      if (!failed) resolve(fields);
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
