import { SMTPServer } from 'smtp-server';

/** A real SMTP server on loopback that keeps every message it receives (raw text), for the e-mail transport tests. */
export interface MailCatcher {
  readonly mails: string[];
  /** The envelope recipients of each message, in the order of `mails`. */
  readonly recipients: string[][];
  /** Forgets every message received so far. */
  clear(): void;
  /** `smtp://127.0.0.1:<port>` for SMTP_URL. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMailCatcher(): Promise<MailCatcher> {
  const mails: string[] = [];
  const recipients: string[][] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push(Buffer.concat(chunks).toString());
        recipients.push(session.envelope.rcptTo.map((r) => r.address));
        callback();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  return {
    mails,
    recipients,
    clear() {
      mails.length = 0;
      recipients.length = 0;
    },
    url: `smtp://127.0.0.1:${(smtp.server.address() as { port: number }).port}`,
    close: () => new Promise<void>((r) => smtp.close(() => r())),
  };
}
