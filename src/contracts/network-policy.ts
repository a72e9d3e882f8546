/**
 * Checks of the network policy (decision 0022): the values members may change by a `set-policy`
 * proposal, within the bounds of `networkPolicyBounds`.
 */
import { ContractError } from './errors.ts';
import { checkCodes } from './checks.ts';
import { networkPolicyBounds } from './limits.ts';
import type { NetworkPolicy } from './schemas.ts';

/** Throws `invalid-value` naming the first policy field out of its bounds. */
export function checkNetworkPolicy(policy: NetworkPolicy): void {
  checkCodes('policy.optOutPurposes', policy.optOutPurposes);
  checkCodes('policy.sensitiveLabels', policy.sensitiveLabels);
  const ranges: Array<[string, number, number, number]> = [
    [
      'breakGlassDurationMs',
      policy.breakGlassDurationMs,
      networkPolicyBounds.breakGlassDurationMsMin,
      networkPolicyBounds.breakGlassDurationMsMax,
    ],
    [
      'proposalLifetimeHeights',
      policy.proposalLifetimeHeights,
      1,
      networkPolicyBounds.proposalLifetimeHeightsMax,
    ],
    ['changeDelayHeights', policy.changeDelayHeights, 1, networkPolicyBounds.changeDelayHeightsMax],
    ['auditLagMaxMs', policy.auditLagMaxMs, 0, networkPolicyBounds.auditLagMaxMsMax],
  ];
  for (const [name, value, min, max] of ranges) {
    if (value < min || value > max) {
      throw new ContractError(
        'invalid-value',
        `policy.${name}: expected ${min} to ${max}, found ${value}`,
        { field: `policy.${name}` },
      );
    }
  }
}
