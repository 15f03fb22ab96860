import assert from 'node:assert/strict';
import { createDownloadTransport } from '../../../server/domain/transports/download.js';
import { createEmailTransport } from '../../../server/domain/transports/email.js';
import { createMailSender } from '../../../server/domain/transports/mail-sender.js';
import { type MailCatcher, startMailCatcher } from '../../helpers/mail-catcher.js';
import { freePort, makeCtx, rejection } from './helpers.js';

describe('email and download transports (smtp-server)', () => {
  let smtp: MailCatcher;
  let mails: string[] = [];
  before(async () => {
    smtp = await startMailCatcher();
    mails = smtp.mails;
  });
  after(() => smtp.close());
  beforeEach(() => smtp.clear());
  const mailer = () => createMailSender(smtp.url, 'exports@example.test');
  const email = { recipients: ['a@example.test', 'b@example.test'], message: 'Hello from the owner' };

  it('R-TR-2 email sends the outcome, the links and the custom message', async () => {
    const t = createEmailTransport(mailer());
    await t.deliver(t.validate({}, 'o'), makeCtx({ email }));
    assert.equal(mails.length, 1);
    assert.deepEqual(smtp.recipients[0], email.recipients);
    assert.match(mails[0]!, /Outcome: done/);
    assert.match(mails[0]!, /Hello from the owner/);
    assert.ok(mails[0]!.includes('https://export.example/api/v1/export/7/zip?passkey=abc'));
  });

  it('R-TR-2 email carries the failure reason; notify decides which outcomes are mailed', async () => {
    const t = createEmailTransport(mailer());
    const failed = makeCtx({ email, state: 'failed', failureReason: 'The search timed out' });
    await t.deliver(t.validate({ notify: 'success' }, 'o'), failed);
    assert.equal(mails.length, 0);
    await t.deliver(t.validate({ notify: 'failure' }, 'o'), failed);
    assert.equal(mails.length, 1);
    assert.match(mails[0]!, /Outcome: failed/);
    assert.match(mails[0]!, /Failure reason: The search timed out/);
    await t.deliver(t.validate({ notify: 'failure' }, 'o'), makeCtx({ email }));
    assert.equal(mails.length, 1);
    assert.throws(() => t.validate({ notify: 'sometimes' }, 'o'), { code: 'error.api.invalid_value' });
  });

  it('R-TR-2 download mails the links when it has an email block, and does nothing without', async () => {
    const t = createDownloadTransport(mailer());
    await t.deliver(t.validate({}, 'o'), makeCtx());
    assert.equal(mails.length, 0);
    await t.deliver(t.validate({}, 'o'), makeCtx({ email }));
    assert.equal(mails.length, 1);
    assert.ok(mails[0]!.includes('passkey=abc'));
    assert.throws(() => t.validate({ path: '/x' }, 'o'), { code: 'error.api.attribute_not_accepted' });
  });

  it('R-TR-6 email fails with a clear reason when the SMTP server is down', async () => {
    const t = createEmailTransport(createMailSender(`smtp://127.0.0.1:${await freePort()}`, 'x@example.test'));
    const err = await rejection(() => t.deliver(t.validate({}, 'o'), makeCtx({ email })));
    assert.match(err.message, /^The e-mail could not be sent: the connection was refused/);
  });
});
