// Outgoing mail. With SMTP_URL, messages go to that relay through nodemailer;
// without it, to the log. Sending happens in the background: `send` returns at once, so a slow or
// broken relay never fails or delays the request that asked for the message. A failed attempt is
// retried with growing waits; a message given up on is logged and counted
// (accounts_mail_send_failures_total).
//
// Every message leaves as text and HTML, naming the service (./compose.ts).
//
// A message body may hold a secret (a verification or reset link). With SMTP_URL set it is never
// logged, at any level. Without it (development: nothing leaves the machine) the log says at info
// that the mail was not sent and lists its links, so that a developer can follow them without
// LOG_LEVEL=debug; the whole body is logged at debug.
import type { Transporter } from 'nodemailer';
import type { FastifyBaseLogger } from 'fastify';
import type { Counter } from 'prom-client';
import { composeMail, linksIn } from './compose.ts';
import type { Html } from '../web/html.ts';

/** `html` is the body's HTML (inside the mail's layout); without it, it is made from `text`. */
export type MailMessage = { to: string; subject: string; text: string; html?: Html };

export type Mailer = {
  /** 'smtp' or 'log': where messages go. */
  readonly transport: 'smtp' | 'log';
  /** Queues the message and returns at once; the outcome is logged and counted, never thrown. */
  send(message: MailMessage): void;
  /** Waits (at most 10 s) for the messages being sent or retried, then closes the connection. */
  close(): Promise<void>;
};

export type MailerOptions = {
  smtpUrl: string | undefined;
  from: string;
  /** SERVICE_NAME and PUBLIC_URL: named in every mail's subject and signature. */
  service: { name: string; url: string };
  log: FastifyBaseLogger;
  metrics: { mailSent: Counter; mailSendFailures: Counter };
  /** Waits between attempts; one more attempt than waits. Default: 1 s, then 5 s (3 attempts). */
  retryDelaysMs?: readonly number[];
};

export const DEFAULT_RETRY_DELAYS_MS = [1_000, 5_000] as const;
const CLOSE_WAIT_MS = 10_000;

export function createMailer(options: MailerOptions): Mailer {
  const { log, metrics } = options;
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const smtpUrl = options.smtpUrl;
  // nodemailer is loaded with the first message sent, not by every process that might send one.
  let transporter: Promise<Transporter> | undefined;
  const smtp = smtpUrl
    ? () =>
        (transporter ??= import('nodemailer').then(({ default: nodemailer }) =>
          nodemailer.createTransport({
            url: smtpUrl,
            // A relay that does not answer must not hold a message (and shutdown) for minutes.
            connectionTimeout: 10_000,
            greetingTimeout: 10_000,
            socketTimeout: 30_000,
          }),
        ))
    : undefined;
  const pending = new Set<Promise<void>>();

  async function deliver(message: MailMessage): Promise<void> {
    const mail = composeMail(options.service, message);
    if (!smtp) {
      // Only here, where nothing is sent, are the links logged at info: see the top of this file.
      log.info({ mail: { transport: 'log', to: message.to, subject: message.subject, links: linksIn(message.text) } }, 'mail not sent (SMTP_URL is not set): written to the log');
      log.debug({ mail: { to: message.to, subject: mail.subject, text: mail.text } }, 'mail body');
      metrics.mailSent.inc();
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await (await smtp()).sendMail({ from: options.from, to: message.to, subject: mail.subject, text: mail.text, html: mail.html });
        log.info({ mail: { transport: 'smtp', to: message.to, subject: message.subject, attempt } }, 'mail sent');
        metrics.mailSent.inc();
        return;
      } catch (error) {
        // The relay's reply or the socket error; never the message (it may hold a secret link).
        const reason = error instanceof Error ? error.message : String(error);
        const wait = delays[attempt - 1];
        if (wait === undefined) {
          log.error({ mail: { to: message.to, subject: message.subject, attempts: attempt }, err: reason }, 'mail could not be sent: giving up');
          metrics.mailSendFailures.inc();
          return;
        }
        log.warn({ mail: { to: message.to, subject: message.subject, attempt }, err: reason, retryInMs: wait }, 'mail could not be sent: will retry');
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  return {
    transport: smtp ? 'smtp' : 'log',
    send(message) {
      // setImmediate: not even the first connection attempt starts before the caller has answered.
      const job = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => deliver(message))
        .catch((error: unknown) => log.error({ err: error }, 'mail: unexpected error'))
        .finally(() => pending.delete(job));
      pending.add(job);
    },
    async close() {
      // Bounded, so that a relay that is down cannot stretch a shutdown past its grace period.
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), CLOSE_WAIT_MS);
      });
      const outcome = await Promise.race([Promise.allSettled([...pending]), gaveUp]);
      clearTimeout(timer);
      if (outcome === 'timeout') log.error({ mail: { unsent: pending.size } }, 'mail: shutting down with messages still unsent');
      await transporter?.then(
        (t) => t.close(),
        () => undefined,
      );
    },
  };
}
