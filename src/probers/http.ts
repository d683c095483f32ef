// kind: http — a request, an expected status, optional JSON assertions.
import { Type } from '@sinclair/typebox';
import { HttpUrl, textLimits } from '../core/fields.js';
import { parsed, unparsed, type Parsed } from '../core/result.js';
import { snippet } from '../util/text.js';
import { defineProber } from './define.js';
import { attempt, failed, passed, transportReasons } from './common.js';
import { ExpectField, holds, type Expectation } from './expect.js';

const Assertion = Type.Object(
  {
    /** `$.data.status`, `data.result[0].value[1]`: dots and [index]. */
    path: Type.String({ minLength: 1 }),
    /** A numeric comparison such as "> 0", or a range as a list that must all hold: [">= 1", "< 100"]... */
    expect: Type.Optional(ExpectField),
    /** ...or an exact value (string, number or boolean). */
    equals: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
  },
  { additionalProperties: false },
);

type Step = string | number;

/** One assertion, decoded: the path as steps, and exactly one of a comparison or a value. */
type Check = { path: string; steps: Step[] } & ({ expect: Expectation } | { equals: string | number | boolean });

export const httpProber = defineProber({
  fields: Type.Object({
    url: HttpUrl,
    method: Type.Optional(Type.Union(['GET', 'HEAD', 'POST', 'PUT', 'OPTIONS'].map((m) => Type.Literal(m)))),
    headers: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: textLimits.header }))),
    body: Type.Optional(Type.String({ maxLength: textLimits.body })),
    /** Accepted status codes; default any 2xx. */
    expectStatus: Type.Optional(Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { minItems: 1 })),
    assertions: Type.Optional(Type.Array(Assertion)),
    maxBodyBytes: Type.Optional(Type.Integer({ minimum: 1 })),
  }),
  reasons: {
    ...transportReasons,
    http_status: "The service answered another status than expected: read its logs (docker logs <container>) for a 5xx, or compare the URL and method with the service's API documentation.",
    invalid_response: 'The assertions need a JSON body: check that the URL points at the JSON API and not at a page or a proxy.',
    assertion: 'The service answered, but the response does not hold what the assertion expects: read that field in the full response.',
  },
  decode(f, d) {
    const assertions = (f.assertions ?? []).flatMap((a, i): Check[] => {
      const steps = d.take(`assertions[${i}].path`, parsePath(a.path), []);
      if (a.expect !== undefined && a.equals === undefined) return [{ path: a.path, steps, expect: d.expectation(`assertions[${i}].expect`, a.expect) }];
      if (a.equals !== undefined && a.expect === undefined) return [{ path: a.path, steps, equals: a.equals }];
      d.problem(`assertions[${i}]`, 'give exactly one of expect or equals');
      return [];
    });
    return {
      url: f.url,
      method: f.method ?? 'GET',
      headers: f.headers,
      body: f.body,
      expectStatus: f.expectStatus,
      assertions,
      maxBodyBytes: f.maxBodyBytes ?? 1024 * 1024,
    };
  },
  async run(spec, ctx) {
    const started = ctx.now();
    const res = await attempt(() => ctx.http.request(spec.url, { method: spec.method, headers: spec.headers, body: spec.body, maxBytes: spec.maxBodyBytes, signal: ctx.signal }));
    if (!res.ok) return res.outcome;
    const { status, body } = res.value;
    const seconds = (ctx.now() - started) / 1000;
    const statusOk = spec.expectStatus ? spec.expectStatus.includes(status) : status >= 200 && status < 300;
    if (!statusOk) {
      return failed(
        'http_status',
        `${spec.url} answered HTTP ${status} (expected ${spec.expectStatus?.join(', ') ?? '2xx'}): ${snippet(body)}`,
        status >= 500
          ? 'The service is up but failing: read its logs (docker logs <container>) for the error behind this status.'
          : "The URL or method may be wrong, or the endpoint needs credentials: compare with the service's API documentation.",
        { value: status, details: { httpStatus: status } },
      );
    }
    if (!spec.assertions.length) return passed(`HTTP ${status} in ${seconds.toFixed(3)}s`, { value: status });

    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      return failed('invalid_response', `${spec.url} answered HTTP ${status} with a body that is not JSON: ${snippet(body)}`);
    }
    for (const a of spec.assertions) {
      const found = lookup(doc, a.steps);
      if (!found.exists) {
        return failed('assertion', `${a.path} is not in the answer of ${spec.url}`, 'The response has another shape than expected: check the API version and the path.', { details: { path: a.path } });
      }
      if ('equals' in a && found.value !== a.equals) {
        return failed(
          'assertion',
          `${a.path} is ${JSON.stringify(found.value)}, expected ${JSON.stringify(a.equals)}`,
          'The service answered but reports a state other than the expected one: read that field in the full response.',
          {
            details: { path: a.path, actual: found.value },
          },
        );
      }
      if ('expect' in a) {
        const n = typeof found.value === 'number' ? found.value : typeof found.value === 'string' ? Number(found.value) : NaN;
        if (Number.isNaN(n) || !holds(a.expect, n)) {
          return failed('assertion', `${a.path} is ${JSON.stringify(found.value)}, expected ${a.expect.text}`, 'The measured value is outside the expected range: see the full response for context.', {
            value: Number.isNaN(n) ? null : n,
            details: { path: a.path, actual: found.value },
          });
        }
      }
    }
    return passed(`HTTP ${status}, ${spec.assertions.length} assertion(s) hold`, { value: status });
  },
});

/** `$.a.b[0]` → ['a','b',0]. */
export function parsePath(path: string): Parsed<Step[]> {
  const malformed = unparsed<Step[]>(`"${path}" is not a path like $.data.items[0].name`);
  const rest = path.replace(/^\$\.?/, '');
  if (rest === '') return parsed([]);
  // `$..a` is JSONPath's recursive descent, which this lookup does not do: refuse it rather than read it as `$.a`.
  if (rest.startsWith('.')) return malformed;
  const steps: Step[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\.(?=[^.[\]])/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(rest)) !== null) {
    if (m[0] === '') return malformed;
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    consumed = re.lastIndex;
  }
  return consumed === rest.length && steps.length ? parsed(steps) : malformed;
}

function lookup(doc: unknown, steps: Step[]): { exists: boolean; value?: unknown } {
  let cur: unknown = doc;
  for (const s of steps) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, s)) return { exists: false };
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return { exists: true, value: cur };
}
