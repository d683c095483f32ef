// kind: http — a request, an expected status, optional JSON assertions.
import { Type } from '@sinclair/typebox';
import { defineProber } from './types.js';
import { failed, orTransportFailure, isOutcome, passed, snippet } from './common.js';
import { holds, parseExpectation } from './expect.js';

const Assertion = Type.Object(
  {
    /** `$.data.status`, `data.result[0].value[1]`: dots and [index]. */
    path: Type.String({ minLength: 1 }),
    /** A numeric comparison such as "> 0"... */
    expect: Type.Optional(Type.String()),
    /** ...or an exact value (string, number or boolean). */
    equals: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
  },
  { additionalProperties: false },
);

export const httpProber = defineProber({
  fields: Type.Object({
    url: Type.String({ pattern: '^https?://' }),
    method: Type.Optional(Type.Union(['GET', 'HEAD', 'POST', 'PUT', 'OPTIONS'].map((m) => Type.Literal(m)))),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    body: Type.Optional(Type.String()),
    /** Accepted status codes; default any 2xx. */
    expectStatus: Type.Optional(Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { minItems: 1 })),
    assertions: Type.Optional(Type.Array(Assertion)),
    maxBodyBytes: Type.Optional(Type.Integer({ minimum: 1 })),
  }),
  check(spec) {
    for (const [i, a] of (spec.assertions ?? []).entries()) {
      if ((a.expect === undefined) === (a.equals === undefined)) {
        return { field: `assertions[${i}]`, message: 'give exactly one of expect or equals' };
      }
      if (a.expect !== undefined) {
        const e = parseExpectation(a.expect);
        if (typeof e === 'string') return { field: `assertions[${i}].expect`, message: e };
      }
      if (parsePath(a.path) === undefined) return { field: `assertions[${i}].path`, message: `"${a.path}" is not a path like $.data.items[0].name` };
    }
    return undefined;
  },
  async run(spec, ctx) {
    const started = ctx.now();
    const res = await orTransportFailure(() =>
      ctx.http.request(spec.url, {
        method: spec.method ?? 'GET',
        headers: spec.headers,
        body: spec.body,
        maxBytes: spec.maxBodyBytes ?? 1024 * 1024,
        signal: ctx.signal,
      }),
    );
    if (isOutcome(res)) return res;
    const seconds = (ctx.now() - started) / 1000;
    const statusOk = spec.expectStatus ? spec.expectStatus.includes(res.status) : res.status >= 200 && res.status < 300;
    if (!statusOk) {
      return failed(
        'http_status',
        `${spec.url} answered HTTP ${res.status} (expected ${spec.expectStatus?.join(', ') ?? '2xx'}): ${snippet(res.body)}`,
        res.status >= 500
          ? 'The service is up but failing: read its logs (docker logs <container>) for the error behind this status.'
          : 'The URL or method may be wrong, or the endpoint needs credentials: compare with the service\'s API documentation.',
        { value: res.status, details: { httpStatus: res.status } },
      );
    }
    if (!spec.assertions?.length) return passed(`HTTP ${res.status} in ${seconds.toFixed(3)}s`, { value: res.status });

    let doc: unknown;
    try {
      doc = JSON.parse(res.body);
    } catch {
      return failed('invalid_response', `${spec.url} answered HTTP ${res.status} with a body that is not JSON: ${snippet(res.body)}`, 'The assertions need a JSON body: check that the URL points at the JSON API and not at a page or a proxy.');
    }
    for (const a of spec.assertions) {
      const found = lookup(doc, parsePath(a.path)!);
      if (!found.exists) {
        return failed('assertion', `${a.path} is not in the answer of ${spec.url}`, 'The response has another shape than expected: check the API version and the path.', { details: { path: a.path } });
      }
      if (a.equals !== undefined && found.value !== a.equals) {
        return failed('assertion', `${a.path} is ${JSON.stringify(found.value)}, expected ${JSON.stringify(a.equals)}`, 'The service answered but reports a state other than the expected one: read that field in the full response.', { details: { path: a.path, actual: found.value } });
      }
      if (a.expect !== undefined) {
        const e = parseExpectation(a.expect) as Exclude<ReturnType<typeof parseExpectation>, string>;
        const n = typeof found.value === 'number' ? found.value : typeof found.value === 'string' ? Number(found.value) : NaN;
        if (Number.isNaN(n) || !holds(e, n)) {
          return failed('assertion', `${a.path} is ${JSON.stringify(found.value)}, expected ${e.text}`, 'The measured value is outside the expected range: see the full response for context.', { value: Number.isNaN(n) ? null : n, details: { path: a.path, actual: found.value } });
        }
      }
    }
    return passed(`HTTP ${res.status}, ${spec.assertions.length} assertion(s) hold`, { value: res.status });
  },
});

type Step = string | number;

/** `$.a.b[0]` → ['a','b',0]; undefined when malformed. */
export function parsePath(path: string): Step[] | undefined {
  const rest = path.replace(/^\$\.?/, '');
  if (rest === '') return [];
  // `$..a` is JSONPath's recursive descent, which this lookup does not do: refuse it rather than read it as `$.a`.
  if (rest.startsWith('.')) return undefined;
  const steps: Step[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\.(?=[^.[\]])/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(rest)) !== null) {
    if (m[0] === '') return undefined;
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    consumed = re.lastIndex;
  }
  return consumed === rest.length && steps.length ? steps : undefined;
}

function lookup(doc: unknown, steps: Step[]): { exists: boolean; value?: unknown } {
  let cur: unknown = doc;
  for (const s of steps) {
    if (cur === null || typeof cur !== 'object' || !(s in (cur as object))) return { exists: false };
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return { exists: true, value: cur };
}
