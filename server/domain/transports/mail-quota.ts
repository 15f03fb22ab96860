import type { Knex } from 'knex';
import { withTransaction } from '../../infra/db/transaction.js';
import { permanentError } from './failure.js';
import type { MailSender } from './mail-sender.js';

/**
 * R-ROB-8: a user's exports mail at most MAIL_MAX_RECIPIENTS addresses per message, MAIL_MAX_PER_DAY messages and
 * MAIL_MAX_RECIPIENTS_PER_DAY recipients (summed over messages) in any 24 hours. The count lives in `mail_sends`, so it holds across restarts, instances and deleted exports; a
 * per-owner advisory lock makes "count, then record" atomic when deliveries of one owner mail at the same moment.
 */
export interface MailQuotaLimits {
  maxRecipients: number;
  maxPerDay: number;
  /** Recipients of all messages in 24 hours; without it only messages are counted. */
  maxRecipientsPerDay?: number;
}

export interface MailQuota {
  readonly limits: MailQuotaLimits;
  /** Records one message for `ownerId` or throws a permanent TransportError; returns the undo for a failed send. */
  reserve(ownerId: number, recipients: number): Promise<() => Promise<void>>;
}

/** First key of the two-key advisory lock: "mail" in ASCII, so it cannot meet another module's locks. */
const LOCK_SPACE = 0x6d61696c;

export function createMailQuota(db: Knex, limits: MailQuotaLimits): MailQuota {
  return {
    limits,
    async reserve(ownerId, recipients) {
      if (recipients > limits.maxRecipients) {
        throw permanentError(
          `The e-mail has ${recipients} recipients; at most ${limits.maxRecipients} are allowed per message (MAIL_MAX_RECIPIENTS)`,
        );
      }
      const id = await withTransaction(db, async (trx) => {
        // Owner ids fit the int4 key in practice; a collision above 2^31 would only serialise two owners' mails.
        await trx.raw('select pg_advisory_xact_lock(?, (? % 2147483647)::int)', [LOCK_SPACE, ownerId]);
        const [{ n, r }] = (await trx('mail_sends')
          .where({ owner_id: ownerId })
          .whereRaw("sent_at > now() - interval '1 day'")
          .select(trx.raw('count(*) as n'), trx.raw('coalesce(sum(recipients), 0) as r'))) as { n: string; r: string }[];
        if (Number(n) >= limits.maxPerDay) {
          throw permanentError(
            `No e-mail was sent: this user's exports reached the limit of ${limits.maxPerDay} e-mails in 24 hours (MAIL_MAX_PER_DAY)`,
          );
        }
        const perDay = limits.maxRecipientsPerDay;
        if (perDay !== undefined && Number(r) + recipients > perDay) {
          throw permanentError(
            `No e-mail was sent: its ${recipients} recipients would take this user's exports past the limit of ${perDay} recipients in 24 hours (MAIL_MAX_RECIPIENTS_PER_DAY)`,
          );
        }
        const [row] = (await trx('mail_sends').insert({ owner_id: ownerId, recipients }).returning('id')) as { id: number }[];
        return row!.id;
      });
      return async () => {
        await db('mail_sends').where({ id }).delete();
      };
    },
  };
}

/**
 * A MailSender that counts against the owner's quota before sending; a send that fails is not counted (it would only
 * punish the owner for the SMTP server's trouble). Mails without an owner (none today) are not counted.
 */
export function quotaMailer(sender: MailSender, quota: MailQuota): MailSender {
  return {
    async send(mail, signal, ownerId) {
      signal?.throwIfAborted();
      if (ownerId === undefined) return sender.send(mail, signal);
      const undo = await quota.reserve(ownerId, mail.to.length);
      try {
        await sender.send(mail, signal);
      } catch (err) {
        await undo().catch(() => {});
        throw err;
      }
    },
  };
}

/** Sweep: rows older than the 24-hour window count for nothing any more. */
export async function purgeMailSends(db: Knex): Promise<number> {
  return db('mail_sends').whereRaw("sent_at < now() - interval '1 day'").delete();
}
