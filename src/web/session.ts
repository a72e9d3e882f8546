/**
 * The signed-in user and every call to this node's API: bearer token on each request, FHIR
 * OperationOutcome and API errors turned into one message a person can act on. The session lives
 * in `sessionStorage` (this tab only, gone when it closes); nothing leaves this origin.
 */
import type { DemoSignInUser } from './types.ts';

const storageKey = 'medledger.session';

/** Who is signed in: their token, who they are, and a patient's key seed (hex) for signing. */
export interface Session {
  readonly token: string;
  readonly user: DemoSignInUser;
  readonly patientKey: string | null;
  /** A practitioner's key seed (hex) on the demo, for what they sign themselves. */
  readonly practitionerKey?: string | null;
  /** Set when the token carries a break-glass purpose: until when (Unix ms) and why. */
  readonly breakGlass: {
    readonly purpose: string;
    readonly reason: string;
    readonly until: number;
  } | null;
}

export function loadSession(): Session | null {
  const text = sessionStorage.getItem(storageKey);
  if (text === null) return null;
  try {
    return JSON.parse(text) as Session;
  } catch {
    sessionStorage.removeItem(storageKey);
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session === null) sessionStorage.removeItem(storageKey);
  else sessionStorage.setItem(storageKey, JSON.stringify(session));
}

/** A failed call: the status and a message that says what went wrong and what to do. */
export class RequestFailed extends Error {
  readonly status: number;
  /** OperationOutcome issue codes (`forbidden`, `suppressed`, …) or the API's error code. */
  readonly codes: readonly string[];

  constructor(status: number, message: string, codes: readonly string[]) {
    super(message);
    this.name = 'RequestFailed';
    this.status = status;
    this.codes = codes;
  }
}

interface OutcomeIssue {
  severity?: string;
  code?: string;
  diagnostics?: string;
  details?: { text?: string };
}

async function failureOf(response: Response): Promise<RequestFailed> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: the status alone says something.
  }
  if (typeof body === 'object' && body !== null) {
    const record = body as {
      resourceType?: string;
      issue?: OutcomeIssue[];
      error?: { code?: string; message?: string };
    };
    if (record.resourceType === 'OperationOutcome' && Array.isArray(record.issue)) {
      const messages = record.issue
        .map((issue) => issue.details?.text ?? issue.diagnostics)
        .filter((text): text is string => typeof text === 'string' && text.length > 0);
      const codes = record.issue.map((issue) => issue.code ?? 'unknown');
      return new RequestFailed(response.status, messages.join(' ') || response.statusText, codes);
    }
    if (record.error !== undefined) {
      return new RequestFailed(response.status, record.error.message ?? response.statusText, [
        record.error.code ?? 'unknown',
      ]);
    }
  }
  return new RequestFailed(response.status, `${response.status} ${response.statusText}`, []);
}

/** Calls this node's API; resolves with the parsed JSON, rejects with `RequestFailed`. */
export async function call<T>(
  path: string,
  options: {
    session?: Session | null;
    method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
    body?: unknown;
    headers?: Record<string, string>;
  } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.session) headers.authorization = `Bearer ${options.session.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= path.startsWith('/fhir')
      ? 'application/fhir+json'
      : 'application/json';
  }
  const response = await fetch(path, { method: options.method ?? 'GET', headers, body });
  if (!response.ok) throw await failureOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
