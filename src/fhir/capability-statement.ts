/**
 * The server's CapabilityStatement for `GET /fhir/metadata` (FHIR R4 capabilitystatement.html,
 * http.html#capabilities): FHIR 4.0.1, JSON, every supported type with its interactions and search
 * parameters, and SMART-on-FHIR security with the OAuth endpoints in the `oauth-uris` extension
 * (SMART App Launch v2 conformance.html; the `.well-known/smart-configuration` file is the API's).
 */
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceInteraction,
} from '@medplum/fhirtypes';

import { isFhirInstant } from './resource-version.ts';
import { FhirError } from './operation-outcome.ts';
import { chainViewResourceTypes, clinicalResourceTypes } from './resource-types.ts';
import type { SupportedResourceType } from './resource-types.ts';
import { searchParametersOf } from './search-parameters.ts';

/** Options of `capabilityStatement`. */
export interface CapabilityStatementOptions {
  /** The FHIR base URL (`https://node.example/fhir`). */
  readonly baseUrl: string;
  readonly software: { readonly name: string; readonly version: string };
  /** Instant the statement is dated (the server's start time), given by the caller. */
  readonly time: string;
  /** The OAuth 2 token endpoint; defaults to `/auth/token` at the base URL's origin. */
  readonly tokenUrl?: string;
  /** The OAuth 2 authorization endpoint, when the server offers one. */
  readonly authorizeUrl?: string;
}

/** The SMART `oauth-uris` extension (SMART App Launch, conformance.html). */
export const oauthUrisExtensionUrl =
  'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

const clinicalInteractions: CapabilityStatementRestResourceInteraction['code'][] = [
  'read',
  'vread',
  'update',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
];
const chainViewInteractions: CapabilityStatementRestResourceInteraction['code'][] = [
  'read',
  'search-type',
];

function referenceParameters(type: string): string[] {
  return [...searchParametersOf(type).values()]
    .filter((parameter) => parameter.type === 'reference')
    .map((parameter) => `${type}:${parameter.code}`);
}

function resourceEntry(
  type: SupportedResourceType,
  clinical: boolean,
): CapabilityStatementRestResource {
  const revIncludes = [...clinicalResourceTypes, ...chainViewResourceTypes]
    .flatMap((source) =>
      [...searchParametersOf(source).values()]
        .filter((parameter) => parameter.type === 'reference' && parameter.targets.includes(type))
        .map((parameter) => `${source}:${parameter.code}`),
    )
    .sort();
  return {
    type,
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    interaction: (clinical ? clinicalInteractions : chainViewInteractions).map((code) => ({
      code,
    })),
    versioning: 'versioned',
    readHistory: clinical,
    updateCreate: false,
    conditionalCreate: clinical,
    conditionalRead: 'not-supported',
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    searchInclude: referenceParameters(type),
    searchRevInclude: revIncludes,
    searchParam: [...searchParametersOf(type).values()].map((parameter) => ({
      name: parameter.code,
      definition: parameter.url,
      type: parameter.type,
    })),
  };
}

/**
 * The CapabilityStatement of this FHIR server. Throws a 500 `FhirError` when `time` is not an
 * instant (a caller's bug).
 */
export function capabilityStatement(options: CapabilityStatementOptions): CapabilityStatement {
  if (!isFhirInstant(options.time)) {
    throw new FhirError('exception', 'capabilityStatement needs time as a FHIR instant', {
      status: 500,
    });
  }
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const tokenUrl = options.tokenUrl ?? new URL('/auth/token', baseUrl).toString();
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: options.time,
    publisher: options.software.name,
    kind: 'instance',
    software: { name: options.software.name, version: options.software.version },
    implementation: { description: `${options.software.name} FHIR R4 API`, url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        security: {
          cors: true,
          service: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
                  code: 'SMART-on-FHIR',
                  display: 'SMART-on-FHIR',
                },
              ],
              text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)',
            },
          ],
          extension: [
            {
              url: oauthUrisExtensionUrl,
              extension: [
                { url: 'token', valueUri: tokenUrl },
                ...(options.authorizeUrl !== undefined
                  ? [{ url: 'authorize', valueUri: options.authorizeUrl }]
                  : []),
              ],
            },
          ],
        },
        resource: [
          ...clinicalResourceTypes.map((type) => resourceEntry(type, true)),
          ...chainViewResourceTypes.map((type) => resourceEntry(type, false)),
        ],
        interaction: [
          {
            code: 'transaction',
            documentation:
              'All or nothing: every entry is checked and authorised first, then every version written is anchored in one record.anchor-batch. Consent entries are refused: each Consent needs the patient’s own signed transaction (POST /Consent).',
          },
          {
            code: 'batch',
            documentation:
              'Each entry runs on its own as the single interaction would; a failed entry carries its OperationOutcome in response.outcome.',
          },
        ],
      },
    ],
  };
}
