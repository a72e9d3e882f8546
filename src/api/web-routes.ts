/**
 * The web app (issue 8) on the same origin as the API: `GET /` sends the browser to `/app/`,
 * which serves the built files of `npm install` (`dist/web`: index.html, app.js, app.css) with a
 * content security policy that lets the page talk to this origin only. And, on demo nodes only,
 * the sign-in of the seeded users (decision 0075): `GET /auth/demo/users`,
 * `POST /auth/demo/sign-in`.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { FastifyInstance, FastifyReply } from 'fastify';

import { MedLedgerError } from '../base/index.ts';
import { ApiError, ApiErrorCode } from './errors.ts';

/** A seeded demo user as the sign-in page lists it (synthetic people, no keys). */
export interface DemoSignInUser {
  readonly name: string;
  readonly kind: 'practitioner' | 'patient';
  readonly orgId: string;
  readonly id: string;
  readonly roles: readonly string[];
  readonly displayName: string;
  /** The node where this user signs in (their organisation's, a patient's custodian's). */
  readonly url: string;
}

/** The answer of a demo sign-in. */
export type DemoSignInResult =
  | {
      readonly token: string;
      readonly user: DemoSignInUser;
      /** A patient's Ed25519 seed (hex), so the portal signs their consents in the browser. */
      readonly patientKey: string | null;
      /** A practitioner's Ed25519 seed (hex), for what they sign themselves (review closes). */
      readonly practitionerKey: string | null;
    }
  | { readonly elsewhere: string };

/** The demo's sign-in (src/cli/demo-sign-in.ts reads the demo folder). */
export interface DemoSignInService {
  users(): readonly DemoSignInUser[];
  /** Throws `MedLedgerError` for an unknown user or a bad purpose/reason (a 400). */
  signIn(request: { name: string; purpose?: string; reason?: string }): Promise<DemoSignInResult>;
}

/** The files of the built app and their media types. */
const appFiles: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** Largest file served, in bytes. */
const appFileBytesMax = 8 * 1024 * 1024;

/**
 * The page may load and call this origin only (no request leaves the node), never be framed, and
 * run no inline script. `connect-src 'self'` covers the API; styles are the app's own file.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function sendAppFile(reply: FastifyReply, directory: string, file: string) {
  const type = appFiles[file];
  if (type === undefined) {
    throw new ApiError(ApiErrorCode.notFound, `no file ${file.slice(0, 60)} in the web app`);
  }
  const path = join(directory, file);
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new ApiError(
      ApiErrorCode.unavailable,
      'the web app is not built on this machine: run npm install (it builds dist/web)',
    );
  }
  if (size > appFileBytesMax) {
    throw new ApiError(ApiErrorCode.internal, `web app file ${file} is larger than expected`);
  }
  return reply
    .header('content-type', type)
    .header('content-security-policy', contentSecurityPolicy)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache')
    .send(readFileSync(path));
}

/** Registers `/`, `/app/…` and, when `demo` is given, the demo sign-in. */
export function webRoutes(
  app: FastifyInstance,
  options: { directory: string; demo?: DemoSignInService },
): Promise<void> {
  const { directory, demo } = options;
  app.get('/', (_request, reply) => reply.redirect('/app/'));
  app.get('/app', (_request, reply) => reply.redirect('/app/'));
  // The page names its (empty) icon; a browser that asks anyway gets no content, not a 404.
  app.get('/favicon.ico', (_request, reply) => reply.code(204).send());
  app.get('/app/', (_request, reply) => sendAppFile(reply, directory, 'index.html'));
  app.get<{ Params: { file: string } }>('/app/:file', (request, reply) =>
    sendAppFile(reply, directory, request.params.file),
  );
  app.get('/auth/demo/users', () => {
    if (demo === undefined) {
      throw new ApiError(ApiErrorCode.notFound, 'this node is not a demo node: no demo sign-in');
    }
    return { users: demo.users() };
  });
  app.post<{ Body: unknown }>('/auth/demo/sign-in', async (request, reply) => {
    if (demo === undefined) {
      throw new ApiError(ApiErrorCode.notFound, 'this node is not a demo node: no demo sign-in');
    }
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError(
        ApiErrorCode.badRequest,
        'expected a JSON object { name, purpose?, reason? }',
      );
    }
    const { name, purpose, reason } = body as Record<string, unknown>;
    for (const [field, value] of Object.entries({ purpose, reason })) {
      if (value !== undefined && typeof value !== 'string') {
        throw new ApiError(ApiErrorCode.badRequest, `${field}: expected text`);
      }
    }
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
      throw new ApiError(ApiErrorCode.badRequest, 'name: expected a demo login name');
    }
    let result: DemoSignInResult;
    try {
      result = await demo.signIn({
        name,
        ...(typeof purpose === 'string' && purpose !== '' ? { purpose } : {}),
        ...(typeof reason === 'string' && reason !== '' ? { reason } : {}),
      });
    } catch (error) {
      // An unknown user, a bad purpose or reason: the message says which, and what to try.
      if (error instanceof MedLedgerError && !(error instanceof ApiError)) {
        throw new ApiError(ApiErrorCode.badRequest, error.message);
      }
      throw error;
    }
    if ('elsewhere' in result) {
      return reply.code(409).send({
        error: {
          code: 'wrong-node',
          message: `${name} signs in at their organisation's node: ${result.elsewhere}/app/`,
        },
        url: result.elsewhere,
      });
    }
    return result;
  });
  return Promise.resolve();
}
