/** Shapes the web app reads from the node's API (src/api), declared here: web imports no shell. */

/** A seeded demo user (`GET /auth/demo/users`). */
export interface DemoSignInUser {
  readonly name: string;
  readonly kind: 'practitioner' | 'patient';
  readonly orgId: string;
  /** Practitioner id, or the patient's pseudonym (the FHIR Patient id). */
  readonly id: string;
  readonly roles: readonly string[];
  readonly displayName: string;
  readonly url: string;
}

/** `POST /auth/demo/sign-in`. */
export interface DemoSignInAnswer {
  readonly token: string;
  readonly user: DemoSignInUser;
  readonly patientKey: string | null;
  readonly practitionerKey: string | null;
}

/** `GET /chain/status`. */
export interface ChainStatus {
  readonly chainId: string;
  readonly height: number;
  readonly lastBlockHash: string;
  readonly stateRoot: string;
  readonly logSize: number;
  readonly logRoot: string;
  readonly validators: ReadonlyArray<{ readonly publicKey: string; readonly power: number }>;
  readonly peers: ReadonlyArray<{ readonly publicKey: string; readonly connected?: boolean }>;
  readonly [field: string]: unknown;
}
