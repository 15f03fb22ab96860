import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';
import { apiError, invalidValue, isAppError } from '../errors.js';
import { PACKERS, type Packer } from '../packaging/packaging.js';
import { createDirectoryTransport } from './directory.js';
import { createDownloadTransport } from './download.js';
import { createEmailTransport } from './email.js';
import { createFtpTransport } from './ftp.js';
import { type MailQuota, quotaMailer } from './mail-quota.js';
import { createMailSender, type MailSender } from './mail-sender.js';
import { createS3Transport } from './s3.js';
import { createSftpTransport } from './sftp.js';
import type { Transport, TransportEmail } from './transport.js';
import { createUrlTransport, liftSeedUrl } from './url.js';
import { joinPath, parseWith } from './validation.js';
import { createWebhookTransport } from './webhook.js';

/** A validated `_transports` entry as the lead stores it (secrets still in clear; seal them before storing). */
export interface TransportEntry {
  type: string;
  packer?: Packer;
  options: Record<string, unknown>;
  email?: TransportEmail;
}

export interface TransportRegistryDeps {
  /** TRANSPORT_ALLOW_HOSTS, parsed (see parseAllowList). */
  allowHosts: readonly string[];
  /** TRANSPORT_DIRECTORY_ROOTS, parsed (absolute paths). */
  directoryRoots: readonly string[];
  /** SMTP_URL; null disables mail (email/download-with-email then fail with a clear reason). */
  smtpUrl: string | null;
  mailFrom?: string;
  /** Injected instead of smtpUrl, e.g. by tests that capture mails. */
  mailer?: MailSender;
  ftpTls?: ConnectionOptions;
  /** Connect/handshake timeout for sftp, ftp, s3 and webhook. */
  timeoutMs?: number;
  /** Overall deadline of one webhook call (WEBHOOK_DEADLINE). */
  webhookDeadlineMs?: number;
  /** Per-user mail caps (MAIL_MAX_RECIPIENTS, MAIL_MAX_PER_DAY); without it mails are not counted. */
  mailQuota?: MailQuota;
  s3PartSize?: number;
}

export interface TransportRegistry {
  readonly types: readonly string[];
  findTransport(type: string): Transport<any> | undefined;
  /** For stored entries, whose type was validated on input; an unknown type is a programming error here. */
  getTransport(type: string): Transport<any>;
  /** Validates the API's `_transports` (R-TR-1): strict, read-only attributes dropped, options per type. */
  validateTransports(list: unknown, path?: string): TransportEntry[];
}

/** Server-managed attributes clients may send back unchanged; ignored on input. */
const READ_ONLY = ['_state', '_failure_reason', '_log', '_download'] as const;

/** The bound on recipients when the registry has no MailQuota (a registry built bare, as the transport tests do). */
const MAX_RECIPIENTS = 100;

/** `maxRecipients`: MAIL_MAX_RECIPIENTS, refused on save as well as on delivery. */
const entrySchemaFor = (maxRecipients: number) =>
  z.strictObject({
    type: z.string().min(1),
    packer: z.enum(PACKERS).optional(),
    options: z.record(z.string(), z.unknown()).optional(),
    email: z
      .strictObject({
        recipients: z
          .array(z.email())
          .min(1)
          .max(maxRecipients, `must have at most ${maxRecipients} recipients (MAIL_MAX_RECIPIENTS)`),
        message: z.string().max(20_000).default(''),
      })
      .optional(),
    ...Object.fromEntries(READ_ONLY.map((k) => [k, z.unknown().optional()])),
  });

/** Types whose delivery uses the `email` block; others refuse it rather than silently ignoring it. */
const EMAIL_TYPES = new Set(['email', 'download']);

/**
 * One zod schema per type of `registry`: a `_transports` entry as validateTransports takes it (entrySchemaFor, the
 * `email` block only where the type uses it), with `type` fixed and `options` that transport's own optionsSchema.
 * For the OpenAPI document, which joins them into a union discriminated by `type`. Options are required when the
 * type's schema refuses `{}`. `url` also takes the seeds' form, the URL beside the type (liftSeedUrl), so there the
 * options' `url` may instead come at the top.
 */
export function transportEntrySchemas(registry: TransportRegistry): Record<string, z.ZodObject> {
  const base = entrySchemaFor(MAX_RECIPIENTS);
  const { email } = base.shape;
  return Object.fromEntries(
    registry.types.map((type) => {
      const transport = registry.getTransport(type);
      const schema = transport.optionsSchema ?? base.shape.options;
      const seedForm = type === 'url' && schema instanceof z.ZodObject;
      const options = seedForm ? schema.partial() : schema;
      let entry: z.ZodObject = base.extend({
        type: z.literal(type),
        options: options.safeParse({}).success || seedForm ? options.optional() : options,
        email: type === 'email' ? email.unwrap() : email,
      });
      if (!EMAIL_TYPES.has(type)) entry = entry.omit({ email: true });
      if (seedForm) {
        entry = entry.extend({
          url: z.string().describe('The seeds’ form: the same as options.url (not both)').meta({ writeOnly: true }).optional(),
        });
      }
      return [type, entry];
    }),
  );
}

export function createTransportRegistry(deps: TransportRegistryDeps): TransportRegistry {
  const sender =
    deps.mailer ?? (deps.smtpUrl ? createMailSender(deps.smtpUrl, deps.mailFrom ?? 'export-manager@localhost') : null);
  const mailer = sender && deps.mailQuota ? quotaMailer(sender, deps.mailQuota) : sender;
  const entrySchema = entrySchemaFor(deps.mailQuota?.limits.maxRecipients ?? MAX_RECIPIENTS);
  const t = deps.timeoutMs;
  const map = new Map<string, Transport<any>>();
  const add = (transport: Transport<any>) => map.set(transport.type, transport);
  add(createDownloadTransport(mailer));
  add(createEmailTransport(mailer));
  add(createDirectoryTransport(deps.directoryRoots));
  add(createSftpTransport({ allowHosts: deps.allowHosts, readyTimeoutMs: t }));
  add(createFtpTransport({ allowHosts: deps.allowHosts, timeoutMs: t, tls: deps.ftpTls }));
  add(createS3Transport({ allowHosts: deps.allowHosts, connectTimeoutMs: t, partSize: deps.s3PartSize }));
  add(createWebhookTransport({ allowHosts: deps.allowHosts, timeoutMs: t, deadlineMs: deps.webhookDeadlineMs }));
  add(createUrlTransport((type) => (type === 'url' ? undefined : map.get(type)), deps.allowHosts));

  const findTransport = (type: string) => map.get(type);

  function validateEntry(input: unknown, at: string): TransportEntry {
    const lifted = liftSeedUrl(input);
    if (lifted === input) return validateLifted(input, at);
    // The seed form `{"type": "url", "url": …}`: errors about the URL name the attribute the client sent.
    try {
      return validateLifted(lifted, at);
    } catch (err) {
      const from = `${at}.options.url`;
      if (!isAppError(err) || err.parameters.path !== from) throw err;
      throw err.withDetails(err.message.split(from).join(`${at}.url`), { ...err.parameters, path: `${at}.url` });
    }
  }

  function validateLifted(input: unknown, at: string): TransportEntry {
    const entry = parseWith(entrySchema, input, at);
    const transport = findTransport(entry.type);
    if (!transport) {
      throw invalidValue(`${at}.type`, `Attribute ${at}.type must be one of ${[...map.keys()].join(', ')}`);
    }
    if (entry.email && !EMAIL_TYPES.has(entry.type)) {
      throw apiError('attribute_not_accepted', `Attribute ${at}.email is not accepted for type ${entry.type}`, {
        path: `${at}.email`,
      });
    }
    if (entry.type === 'email' && !entry.email) {
      throw apiError('attribute_expected', `Attribute ${at}.email is required`, { path: `${at}.email` });
    }
    const options = transport.validate(entry.options ?? {}, `${at}.options`) as Record<string, unknown>;
    return {
      type: entry.type,
      ...(entry.packer ? { packer: entry.packer } : {}),
      options,
      ...(entry.email ? { email: { recipients: entry.email.recipients, message: entry.email.message } } : {}),
    };
  }

  return {
    types: [...map.keys()],
    findTransport,
    getTransport(type) {
      const transport = findTransport(type);
      if (!transport) throw invalidValue('type', `Unknown transport type ${type}`);
      return transport;
    },
    validateTransports(list, path = '_transports') {
      if (list === undefined || list === null) return [];
      if (!Array.isArray(list)) {
        throw apiError('type_mismatch', `Attribute ${path} must be of type array`, { path, expected: 'array' });
      }
      return list.map((item, i) => validateEntry(item, joinPath(path, [i])));
    },
  };
}
