import type Router from '@koa/router';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type Koa from 'koa';
import { openApiDocument } from '../../server/http/openapi/document.js';

type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  a: Ajv2020,
) => void;

/** koa-router's path syntax (`/:id/file/{*path}`) as an OpenAPI template (`/{id}/file/{path}`). */
export const toTemplate = (koaPath: string): string =>
  koaPath
    .replace(/\{\*(\w+)\}/g, '{$1}')
    .replace(/:(\w+)/g, '{$1}')
    .replace(/(.)\/$/, '$1');

/**
 * Every `METHOD template` the app's routers answer, read from the @koa/router stacks the Koa app runs. HEAD is left
 * out: the router answers it for every GET route, as HTTP wants, and the document lists GET.
 */
export function routerOperations(app: Koa): Set<string> {
  const out = new Set<string>();
  for (const mw of app.middleware as Array<{ router?: Router }>) {
    for (const layer of mw.router?.stack ?? []) {
      for (const m of layer.methods) if (m !== 'HEAD') out.add(`${m} ${toTemplate(String(layer.path))}`);
    }
  }
  return out;
}

/**
 * The query parameter names of every `METHOD template`, read off the routers: the zod schema of the `query(schema)`
 * middleware (server/http/query.ts) each route validates its query with; none for routes without one.
 */
export function routerQueryParameters(app: Koa): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const mw of app.middleware as Array<{ router?: Router }>) {
    for (const layer of mw.router?.stack ?? []) {
      const schemas = (layer.stack as Array<{ querySchema?: { shape: object } }>).flatMap((f) => f.querySchema ?? []);
      const names = schemas.flatMap((q) => Object.keys(q.shape)).sort();
      for (const m of layer.methods) if (m !== 'HEAD') out.set(`${m} ${toTemplate(String(layer.path))}`, names);
    }
  }
  return out;
}

/** The names of the `in: query` parameters of every documented operation. */
export function documentQueryParameters(doc: Json): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [p, item] of Object.entries(doc.paths as Json)) {
    for (const m of METHODS) {
      if (!item[m]) continue;
      const params = (item[m].parameters ?? []) as { in: string; name: string }[];
      out.set(`${m.toUpperCase()} ${p}`, params.filter((x) => x.in === 'query').map((x) => x.name).sort());
    }
  }
  return out;
}

export function documentOperations(doc: Json): Set<string> {
  const out = new Set<string>();
  for (const [p, item] of Object.entries(doc.paths as Json)) {
    for (const m of METHODS) if (item[m]) out.add(`${m.toUpperCase()} ${p}`);
  }
  return out;
}

interface Matcher {
  template: string;
  re: RegExp;
  literals: number;
}

/** Literal segments first, so `/api/v1/eas/put` wins over `/api/v1/eas/{id}`; `path`/`rest` tails span segments. */
function matchers(doc: Json): Matcher[] {
  return Object.keys(doc.paths)
    .map((template) => {
      const re = template
        .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
        .replace(/\{(\w+)\}/g, (_m, n: string) => (n === 'path' || n === 'rest' ? '(.+)' : '([^/]+)'));
      // koa-router is not strict: a trailing slash matches the same route.
      return {
        template,
        re: new RegExp(`^${re}/?$`),
        literals: template.split('/').filter((s) => s && !s.startsWith('{')).length,
      };
    })
    .sort((a, b) => b.literals - a.literals);
}

export interface ReceivedResponse {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text?: string;
}

/** A validator of one schema of the document (`#/components/schemas/X`), with ajv as the response checker uses it. */
export function schemaValidator(ref: string, doc: Json = openApiDocument()): ((value: unknown) => boolean) & { errors(): string } {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'openapi.json', components: doc.components });
  const v = ajv.compile({ $ref: `openapi.json${ref}` });
  return Object.assign((value: unknown) => v(value), { errors: () => ajv.errorsText(v.errors) });
}

/**
 * Checks a response against the document: its route and method are documented, its status is listed for them, the
 * headers marked required are there, its media type is documented, and a JSON body matches the schema.
 * Returns what is wrong, or null.
 */
export function createResponseChecker(doc: Json = openApiDocument()): (r: ReceivedResponse) => string | null {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'openapi.json', components: doc.components });
  const compiled = new Map<object, ValidateFunction>();
  const validatorFor = (schema: object) => {
    let v = compiled.get(schema);
    if (!v) {
      v = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/')));
      compiled.set(schema, v);
    }
    return v;
  };
  const routes = matchers(doc);
  const errorSchema = { $ref: '#/components/schemas/Error' };

  return (r) => {
    const method = r.method.toLowerCase() === 'head' ? 'get' : r.method.toLowerCase();
    const candidates = routes.filter((m) => m.re.test(r.path));
    const op: Json | undefined = candidates.map((m) => doc.paths[m.template][method]).find(Boolean);
    const where = `${r.method} ${r.path} → ${r.status}`;
    const contentType = String(r.headers['content-type'] ?? '')
      .split(';')[0]
      .trim();
    const checkJson = (schema: object): string | null => {
      if (contentType !== 'application/json') return `${where}: expected application/json, got "${contentType}"`;
      const body = Buffer.isBuffer(r.body) ? JSON.parse(r.body.toString('utf8')) : r.body;
      const v = validatorFor(schema);
      return v(body) ? null : `${where}: body does not match the document: ${ajv.errorsText(v.errors)}`;
    };
    if (!op) {
      // No such route (404) or no such method (405) are answered for any path: they must still be SPEC §2 errors.
      if (r.status === 404 || r.status === 405) return checkJson(errorSchema);
      return `${where}: no documented operation`;
    }
    const response: Json | undefined = op.responses[String(r.status)] ?? op.responses.default;
    if (!response) return `${where}: status ${r.status} is not documented for this operation`;
    for (const [name, h] of Object.entries((response.headers ?? {}) as Json)) {
      if (h.required && r.headers[name.toLowerCase()] === undefined)
        return `${where}: required header ${name} is missing`;
    }
    const empty =
      r.method === 'HEAD' ||
      r.status === 304 ||
      r.headers['content-length'] === '0' ||
      (r.text === '' && !Buffer.isBuffer(r.body));
    if (empty) return null;
    const content = (response.content ?? {}) as Json;
    if (content[contentType])
      return content[contentType].schema && contentType === 'application/json'
        ? checkJson(content[contentType].schema)
        : null;
    if (content['*/*']) return null;
    return `${where}: media type "${contentType}" is not documented (documented: ${Object.keys(content).join(', ') || 'none'})`;
  };
}
