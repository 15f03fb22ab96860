import { createTransport } from 'nodemailer';
import type { DeliveryContext } from './transport.js';

/** Sends plain-text mails through the admin's SMTP_URL (trusted configuration, so no allow-host check here). */
export interface MailSender {
  /** `ownerId`: the export's owner, whose daily mail cap the message counts against (mail-quota.ts). */
  send(mail: { to: string[]; subject: string; text: string }, signal?: AbortSignal, ownerId?: number): Promise<void>;
}

export function createMailSender(smtpUrl: string, from: string): MailSender {
  const transporter = createTransport(smtpUrl);
  return {
    async send(mail, signal) {
      signal?.throwIfAborted();
      await transporter.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text });
    },
  };
}

const formatSize = (size: number | null): string => {
  if (size === null) return 'size unknown';
  if (size < 1024) return `${size} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let n = size / 1024;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(1)} ${units[i]}`;
};

/** The notification mail shared by `email` and `download`: outcome, failure reason, links, the owner's message. */
export function notificationMail(ctx: DeliveryContext, message: string): { subject: string; text: string } {
  const ok = ctx.state === 'done';
  const subject = ok ? `Export "${ctx.exportName}" is ready` : `Export "${ctx.exportName}" failed`;
  const lines: string[] = [];
  if (message.trim()) lines.push(message.trim(), '');
  lines.push(`Export: ${ctx.exportName} (id ${ctx.exportId}, run ${ctx.runId})`);
  lines.push(`Started: ${ctx.runStartedAt.toISOString()}`);
  lines.push(`Outcome: ${ok ? 'done' : 'failed'}`);
  if (!ok && ctx.failureReason) lines.push(`Failure reason: ${ctx.failureReason}`);
  if (ok && ctx.links.length > 0) {
    lines.push('', 'Downloads:');
    for (const link of ctx.links) lines.push(`  ${link.url} (${formatSize(link.size)})`);
  }
  return { subject, text: `${lines.join('\n')}\n` };
}
