// The public surface of api/: the node's HTTP server and its error type (see README.md).
export { buildApiServer, startApiServer, type ApiServer, type ApiServerOptions } from './server.ts';
export { ApiError, ApiErrorCode, apiErrorStatus, type ApiErrorBody } from './errors.ts';
export { apiLimits } from './limits.ts';
export { transactionMediaType } from './chain-routes.ts';
export {
  committedBlockJson,
  transactionJson,
  receiptJson,
  commitJson,
  transactionLocationJson,
} from './block-json.ts';
export {
  fhirRoutes,
  fhirJsonMediaType,
  fhirContentType,
  signedTransactionHeader,
  type FhirRoutesOptions,
  type FhirTokenVerifier,
} from './fhir-routes.ts';
export { smartRoutes, type SmartRoutesOptions } from './smart-routes.ts';
export type {
  FhirService,
  FhirRequestContext,
  FhirParams,
  FhirWriteResult,
  FhirRejection,
  FhirNotification,
} from './fhir-service.ts';
export {
  webRoutes,
  type DemoSignInService,
  type DemoSignInUser,
  type DemoSignInResult,
} from './web-routes.ts';
