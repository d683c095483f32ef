// The API's request and error shapes; the views it answers with are report/schemas.ts. TypeBox values
// give request validation, response serialisation, the TypeScript types and the OpenAPI document.
import { STATUS_CODES } from 'node:http';
import { Type, type Static } from '@sinclair/typebox';

export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
});
export type ErrorReply = Static<typeof ErrorReply>;

/** The one way the API words an error: the status, its standard phrase, and a sentence for people. */
export function errorReply(statusCode: number, message: string): ErrorReply {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

export const FormatQuery = Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('text')])) }, { additionalProperties: false });

export const ProbeParams = Type.Object({ probe: Type.String({ pattern: '^[a-z0-9-]{1,64}$' }) });

export const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  detail: Type.String(),
  pending: Type.Optional(Type.Array(Type.String())),
});
