// A real SMTP peer for tests: smtp-server on 127.0.0.1, a random port, no TLS, no AUTH. It keeps
// every message it receives.
import { SMTPServer } from 'smtp-server';
import { scaled } from './time.ts';

export type ReceivedMail = {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  /** The top-level Content-Type without parameters, e.g. multipart/alternative. */
  contentType: string;
  /** The text/plain part (or the whole body of a single-part mail). */
  text: string;
  /** The text/html part, '' when there is none. */
  html: string;
};

export type SmtpPeer = {
  port: number;
  url: string;
  messages: ReceivedMail[];
  /** The first message (received already or later) that `match` accepts. */
  waitFor(match: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
};

/** An entity's headers (unfolded) and its body, decoded: 7bit, quoted-printable or base64. */
function decodeEntity(raw: string): { header(name: string): string; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  const encoding = header('Content-Transfer-Encoding').toLowerCase();
  let text = body;
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    text = Buffer.from(bytes, 'latin1').toString('utf8');
  } else if (encoding === 'base64') {
    text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  return { header, body: text.replace(/\r\n/g, '\n') };
}

/** Subject, type and the text and HTML parts of what nodemailer sends (one part, or multipart/alternative). */
function decodeBody(raw: string): { subject: string; contentType: string; text: string; html: string } {
  const top = decodeEntity(raw);
  const contentType = top.header('Content-Type');
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  const subject = top.header('Subject');
  if (!type.startsWith('multipart/')) return { subject, contentType: type, text: type === 'text/html' ? '' : top.body, html: type === 'text/html' ? top.body : '' };
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1] ?? '';
  const parts = raw
    .slice(raw.indexOf('\r\n\r\n') + 4)
    .split(`--${boundary}`)
    .slice(1)
    .filter((part) => !part.startsWith('--'))
    .map((part) => decodeEntity(part.replace(/^\r\n/, '')));
  const partOf = (wanted: string) => parts.find((p) => p.header('Content-Type').toLowerCase().startsWith(wanted))?.body.replace(/\n$/, '') ?? '';
  return { subject, contentType: type, text: partOf('text/plain'), html: partOf('text/html') };
}

export async function startSmtpPeer(): Promise<SmtpPeer> {
  const messages: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          ...decodeBody(raw),
        });
        for (const wake of waiters) wake();
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(match, timeoutMs = scaled(10_000)) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching mail within ${timeoutMs} ms (received ${messages.length})`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 100);
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The verification link in a mail's text. */
export function linkIn(mail: ReceivedMail): string {
  const link = /https?:\/\/\S+\/account\/verify-email\?token=[A-Za-z0-9_-]+/.exec(mail.text)?.[0];
  if (!link) throw new Error(`no verification link in:\n${mail.text}`);
  return link;
}
