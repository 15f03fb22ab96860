import { z } from 'zod';
import { requestSchemas, responseSchemas, transportComponents } from './schemas.js';

type JsonSchema = Record<string, unknown>;

/**
 * zod 4's own JSON Schema output (draft 2020-12, the dialect of OpenAPI 3.1). Each named schema is registered so that
 * references between them (the recursive search element) point at `#/components/schemas/<name>`. Requests are
 * converted as zod reads input (defaults make attributes optional), responses as zod's output.
 */
function convert(named: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io,
    target: 'draft-2020-12',
    // Refinements (valid Unicode, real dates, time zones) cannot be expressed; the schema shows the base type.
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, JsonSchema> };
  for (const s of Object.values(schemas)) {
    delete s.$schema;
    delete s.$id;
  }
  return schemas;
}

export function componentSchemas(): Record<string, JsonSchema> {
  const requests = convert(requestSchemas, 'input');
  // Secrets are taken but never shown (GET answers "***"): write-only, as the transport's secretOptions say.
  for (const { name, secrets } of transportComponents) {
    const options = (requests[name]?.properties as Record<string, JsonSchema> | undefined)?.options;
    const properties = (options?.properties ?? {}) as Record<string, JsonSchema>;
    for (const secret of secrets) if (properties[secret]) properties[secret].writeOnly = true;
  }
  return { ...requests, ...convert(responseSchemas, 'output') };
}

export const securitySchemes = {
  token: { type: 'apiKey', in: 'query', name: 'token', description: 'Session token from GET /api/v1/session' },
  exportToken: { type: 'apiKey', in: 'header', name: 'X-Export-Token' },
  bearer: { type: 'http', scheme: 'bearer', description: 'The session token as a bearer token' },
  metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when set, for GET /metrics' },
} as const;
