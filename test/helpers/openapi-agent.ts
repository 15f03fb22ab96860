import type supertest from 'supertest';
import { createResponseChecker } from './openapi-check.js';

type Agent = ReturnType<typeof supertest>;
type Test = ReturnType<Agent['get']>;
type Callback = (err: Error | null, res: supertest.Response) => void;

const VERBS = new Set(['get', 'put', 'post', 'delete', 'head', 'patch', 'options', 'del']);
let checker: ReturnType<typeof createResponseChecker> | undefined;
/** `OPENAPI_STATS=1 npm test` prints how many responses were checked, by status, when the run ends. */
const checkedByStatus = new Map<number, number>();
if (process.env.OPENAPI_STATS) {
  process.on('exit', () => {
    const total = [...checkedByStatus.values()].reduce((a, b) => a + b, 0);
    console.log(`OpenAPI: ${total} responses checked against the document`, Object.fromEntries([...checkedByStatus].sort()));
  });
}

/** Fails the request (as a failed `.expect` would) when its response is not what the document says. */
function checked(test: Test): Test {
  const end = test.end.bind(test);
  const t = test as unknown as { end: (fn?: Callback) => Test; method: string; url: string };
  t.end = (fn?: Callback) =>
    end((err, res) => {
      if (!err && res) {
        checker ??= createResponseChecker();
        checkedByStatus.set(res.status, (checkedByStatus.get(res.status) ?? 0) + 1);
        const problem = checker({
          method: t.method,
          path: new URL(t.url).pathname,
          status: res.status,
          headers: res.headers,
          body: res.body,
          text: res.text,
        });
        if (problem) err = new Error(`The response differs from the OpenAPI document: ${problem}`);
      }
      fn?.(err, res);
    });
  return test;
}

/** The supertest agent with every request's response validated against the OpenAPI document. */
export function checkedAgent(agent: Agent): Agent {
  return new Proxy(agent, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || !VERBS.has(prop) || typeof value !== 'function') return value;
      return (...args: unknown[]) => checked(value.apply(target, args));
    },
  });
}
