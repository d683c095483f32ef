// The API's request and error shapes; the views it answers with are report/schemas.ts. TypeBox values
// give request validation, response serialisation, the TypeScript types and the OpenAPI document.
import { STATUS_CODES } from 'node:http';
import { Type, type Static } from '@sinclair/typebox';

export const ErrorReply = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String(),
    message: Type.String(),
  },
  { $id: 'ErrorReply' },
);
/** A response schema that points at ErrorReply (registered once by app.ts), typed as it. */
export const ErrorRef = Type.Ref(ErrorReply);
export type ErrorReply = Static<typeof ErrorReply>;

/** The one way the API words an error: the status, its standard phrase, and a sentence for people. */
export function errorReply(statusCode: number, message: string): ErrorReply {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

export const FormatQuery = Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('text')])) }, { additionalProperties: false });

/** One probe's routes: any format (json, text) asks for data rather than the page, as before. */
export const ProbeQuery = Type.Object({ format: Type.Optional(Type.String({ description: 'Any value: JSON even when the Accept header asks for HTML.' })) });

export const ProbeParams = Type.Object({ probe: Type.String({ pattern: '^[a-z0-9-]{1,64}$' }) });

export const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  detail: Type.String(),
  pending: Type.Optional(Type.Array(Type.String())),
});
