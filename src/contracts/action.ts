/**
 * A contract action: the transaction kind it answers, the schema of its body, and its pure
 * execution against a `TxScope` (DESIGN.md "Contracts": `(state view, tx, block context) ->
 * (writes, events, result)`). Throwing a `ContractError` fails the transaction atomically.
 */
import type { Schema } from '../codec/index.ts';
import type { TxScope } from './block-state.ts';

export interface ContractAction<Body> {
  readonly kind: string;
  readonly schema: Schema<Body>;
  execute(scope: TxScope, body: Body): void;
}

/** Builds an action; the type parameter ties the schema to the handler's body type. */
export function defineAction<Body>(action: ContractAction<Body>): ContractAction<Body> {
  return action;
}
