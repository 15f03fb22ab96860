import { createHmac, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { z } from 'zod';
import { checkHostAllowed, guardedLookup } from './allow-hosts.js';
import { toTransportError, TransportError } from './failure.js';
import type { DeliveryContext, Transport } from './transport.js';
import { httpUrlSchema, parseWith, refuseLiteralHost } from './validation.js';

export interface WebhookOptions {
  url: string;
  secret?: string;
}

export interface WebhookDeps {
  allowHosts: readonly string[];
  /** Socket inactivity timeout. */
  timeoutMs?: number;
  /** The whole call, connect to the last byte of the answer (WEBHOOK_DEADLINE): a trickling server cannot hold it. */
  deadlineMs?: number;
}

const DEFAULT_WEBHOOK_DEADLINE_MS = 60_000;

const schema = z.strictObject({
  url: httpUrlSchema,
  secret: z.string().min(1).max(1024).optional(),
});

/**
 * The JSON the receiver gets; stable field names, since receivers are written against it. `delivery_id` (the same for
 * every attempt of one delivery) and `timestamp` (when this attempt was signed) are inside the signed body, so a
 * receiver can refuse stale or replayed calls (README: verifying webhooks).
 */
function webhookBody(ctx: DeliveryContext, sent: { deliveryId: string; timestamp: Date }): Record<string, unknown> {
  return {
    delivery_id: sent.deliveryId,
    timestamp: sent.timestamp.toISOString(),
    event: 'export.run.finished',
    export_id: ctx.exportId,
    export_name: ctx.exportName,
    run_id: ctx.runId,
    run_started_at: ctx.runStartedAt.toISOString(),
    state: ctx.state,
    failure_reason: ctx.failureReason,
    files: ctx.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
    links: ctx.links,
    custom_data: ctx.customData,
  };
}

/** `sha256=<hex>` over the exact body bytes, like GitHub's X-Hub-Signature-256. */
const webhookSignature = (secret: string, body: Buffer): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** Origin only: query strings of webhook URLs often carry tokens, which must not land in `_failure_reason`. */
const where = (url: URL) => url.origin;

/**
 * `webhook`: one POST per delivery; any non-2xx (redirects included, they are not followed) fails the transport.
 * Node's http client with `guardedLookup` keeps the allow-host check and the connection on the same address.
 */
export function createWebhookTransport(deps: WebhookDeps): Transport<WebhookOptions> {
  const timeout = deps.timeoutMs ?? 30_000;
  const deadlineMs = deps.deadlineMs ?? DEFAULT_WEBHOOK_DEADLINE_MS;
  return {
    type: 'webhook',
    optionsSchema: schema,
    secretOptions: ['secret'],
    validate(options, path) {
      const o = parseWith(schema, options, path) as WebhookOptions;
      refuseLiteralHost(new URL(o.url).hostname, deps.allowHosts, `${path}.url`);
      return o;
    },
    // The whole URL: the receiver is its origin and path; a query may select a tenant on a shared endpoint.
    destination: (o) => ({ url: new URL(o.url).href }),
    hosts: (o) => [new URL(o.url).hostname.replace(/^\[|\]$/g, '')],
    async deliver(o, ctx) {
      const url = new URL(o.url);
      await checkHostAllowed(url.hostname.replace(/^\[|\]$/g, ''), deps.allowHosts);
      const deliveryId = ctx.deliveryId ?? randomUUID();
      const body = Buffer.from(JSON.stringify(webhookBody(ctx, { deliveryId, timestamp: new Date() })));
      const headers: Record<string, string | number> = {
        'content-type': 'application/json',
        'content-length': body.length,
        'user-agent': 'export-manager-webhook',
        // A copy for routing and logs; receivers verify the signed `delivery_id` in the body.
        'x-export-delivery': deliveryId,
      };
      if (o.secret) headers['x-export-signature'] = webhookSignature(o.secret, body);
      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const deadline = AbortSignal.timeout(deadlineMs);
      const signal = AbortSignal.any([ctx.signal, deadline]);
      try {
        const status = await new Promise<{ code: number; text: string }>((resolve, reject) => {
          const req = request(
            url,
            { method: 'POST', headers, lookup: guardedLookup(deps.allowHosts), signal, timeout },
            (res) => {
              res.resume();
              res.on('end', () => resolve({ code: res.statusCode ?? 0, text: res.statusMessage ?? '' }));
              res.on('error', reject);
            },
          );
          req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
          req.on('error', reject);
          req.end(body);
        });
        if (status.code < 200 || status.code >= 300) {
          throw new TransportError(`Webhook ${where(url)} answered ${status.code} ${status.text}`.trim());
        }
        ctx.log('webhook delivered', { origin: where(url), status: status.code });
      } catch (err) {
        if (deadline.aborted && !ctx.signal.aborted) {
          throw new TransportError(
            `Webhook ${where(url)} did not answer completely within ${deadlineMs / 1000} s (WEBHOOK_DEADLINE)`,
            { cause: err },
          );
        }
        throw toTransportError(err, `Webhook call to ${where(url)} failed`, ctx.signal, 'Webhook', [o.secret]);
      }
    },
  };
}
