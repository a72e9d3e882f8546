/**
 * The node's structured logger (pino) with a redaction list: logs carry ids, hashes, heights and
 * codes, never patient data or credentials (CONVENTIONS.md, HIPAA §164.312(b)). The list is a
 * second line of defence: code logs ids only, and whatever slips through under one of these
 * names is replaced before it is written.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

/** What replaces a redacted value in a log line. */
export const redactedValue = '[redacted]';

/**
 * Field names that may carry patient data or credentials, redacted at the top level of a log
 * line and one or two levels down (`req.headers.authorization`, `err.body`).
 */
const sensitiveFields = [
  // Credentials (RFC 6750 bearer tokens, cookies, SMART on FHIR tokens and assertions).
  'authorization',
  'cookie',
  'set-cookie',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'client_assertion',
  'password',
  'secret',
  'seed',
  'privateKey',
  // Payloads: request and response bodies, FHIR resources and what identifies a person.
  'body',
  'payload',
  'resource',
  'name',
  'given',
  'family',
  'birthDate',
  'address',
  'telecom',
  'identifier',
  'text',
  'note',
] as const;

/**
 * pino `redact` paths: each sensitive field at depth 0, 1 and 2; `name` only below the top,
 * where pino keeps the logger's own name.
 */
export const nodeLogRedactPaths: readonly string[] = sensitiveFields.flatMap((field) => {
  const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(field) ? `.${field}` : `["${field}"]`;
  const top = key.startsWith('.') ? key.slice(1) : key;
  return field === 'name' ? [`*${key}`, `*.*${key}`] : [top, `*${key}`, `*.*${key}`];
});

/**
 * A pino logger for a node (`name` is the node's label, e.g. its organisation), writing JSON
 * lines to `destination` (default stdout) with the redaction list above.
 */
export function createNodeLogger(options: {
  level: string;
  name: string;
  destination?: DestinationStream;
}): Logger {
  const settings = {
    name: options.name,
    level: options.level,
    redact: { paths: [...nodeLogRedactPaths], censor: redactedValue },
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}
