// The public surface of api/: the node's HTTP server and its error type (see README.md).
export { buildApiServer, startApiServer, type ApiServer } from './server.ts';
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
