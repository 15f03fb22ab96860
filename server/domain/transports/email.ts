import { z } from 'zod';
import { TransportError, toTransportError } from './failure.js';
import { type MailSender, notificationMail } from './mail-sender.js';
import type { DeliveryContext, Transport } from './transport.js';
import { parseWith } from './validation.js';

export interface EmailOptions {
  notify: 'always' | 'failure' | 'success';
}

const schema = z.strictObject({ notify: z.enum(['always', 'failure', 'success']).default('always') });

/** Whether a run with this outcome should be mailed, like the seeds' `email_notification`. */
const shouldNotify = (notify: EmailOptions['notify'], state: DeliveryContext['state']): boolean =>
  notify === 'always' || (notify === 'success' ? state === 'done' : state === 'failed');

/** `mailer` is null when SMTP_URL is unset: validation still works, delivery fails with a clear reason. */
export function createEmailTransport(mailer: MailSender | null): Transport<EmailOptions> {
  return {
    type: 'email',
    optionsSchema: schema,
    secretOptions: [],
    validate: (options, path) => parseWith(schema, options ?? {}, path),
    hosts: () => [],
    async deliver(options, ctx) {
      if (!shouldNotify(options.notify, ctx.state)) {
        ctx.log('email not sent: notify setting excludes this outcome', { notify: options.notify, state: ctx.state });
        return;
      }
      const recipients = ctx.email?.recipients ?? [];
      if (recipients.length === 0) throw new TransportError('The e-mail transport has no recipients');
      if (!mailer) throw new TransportError('E-mail cannot be sent: the server has no SMTP_URL configured');
      try {
        await mailer.send({ to: recipients, ...notificationMail(ctx, ctx.email?.message ?? '') }, ctx.signal, ctx.ownerId);
      } catch (err) {
        throw toTransportError(err, 'The e-mail could not be sent', ctx.signal, 'E-mail', []);
      }
      ctx.log('email sent', { recipients: recipients.length });
    },
  };
}
