import { z } from 'zod';
import { toTransportError, TransportError } from './failure.js';
import { type MailSender, notificationMail } from './mail-sender.js';
import type { Transport } from './transport.js';
import { parseWith } from './validation.js';

export type DownloadOptions = Record<string, never>;

const schema = z.strictObject({});

/**
 * `download`: nothing leaves the server; its presence is what makes the export's anonymous passkey links exist
 * (R-ROB-6, download-links.ts builds them, naming the delivered run). With an `email` block it mails them.
 */
export function createDownloadTransport(mailer: MailSender | null): Transport<DownloadOptions> {
  return {
    type: 'download',
    optionsSchema: schema,
    secretOptions: [],
    validate: (options, path) => parseWith(schema, options ?? {}, path) as DownloadOptions,
    hosts: () => [],
    async deliver(_options, ctx) {
      const recipients = ctx.email?.recipients ?? [];
      if (recipients.length === 0) return;
      if (!mailer)
        throw new TransportError('The download links cannot be mailed: the server has no SMTP_URL configured');
      try {
        await mailer.send({ to: recipients, ...notificationMail(ctx, ctx.email?.message ?? '') }, ctx.signal, ctx.ownerId);
      } catch (err) {
        throw toTransportError(err, 'The download links could not be mailed', ctx.signal, 'Download', []);
      }
      ctx.log('download links mailed', { recipients: recipients.length });
    },
  };
}
