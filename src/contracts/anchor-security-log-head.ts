/**
 * `access.security-log-head` (decision 0063): a member's node anchors the head of its
 * organisation's node-local security audit log (decision 0059: refusals before authorisation,
 * hash-chained row by row, kept off chain) — how many rows the log has held since its creation
 * and the chain hash of the newest one. Whoever controls the node's disk can rewrite that log
 * and recompute every hash; once a head is on chain, a rewrite of the rows it covers shows.
 *
 * Rules: only the node key of an active member signs, and it anchors its own organisation's log
 * (the organisation comes from the signer, never from the body); the size must be strictly above
 * the organisation's last anchored size (a replay or a rewind is `log-size-not-increasing`). Each
 * head is stored under (org, size), never rewritten, and as the organisation's latest, with the
 * size anchored before it, so the heads form a list from the latest back. Sizes and hashes only:
 * the log names no patient, and neither does this.
 */
import { toHex } from '../base/index.ts';
import { defineAction } from './action.ts';
import { requireMemberSigner } from './authorise.ts';
import { ContractError } from './errors.ts';
import { SecurityLogHeadBodySchema, SecurityLogHeadSchema } from './schemas.ts';
import { StateNamespace, textPart, u64Part } from './state-keys.ts';

export const anchorSecurityLogHead = defineAction({
  kind: 'access.security-log-head',
  schema: SecurityLogHeadBodySchema,
  execute(scope, body) {
    const member = requireMemberSigner(scope, "anchor a security log's head");
    const orgId = member.orgId;
    const latestKey = scope.key(StateNamespace.securityLogHead, textPart(orgId));
    const latest = scope.readAt(SecurityLogHeadSchema, latestKey);
    const previousLogSize = latest?.logSize ?? 0;
    if (body.logSize <= previousLogSize) {
      throw new ContractError(
        'log-size-not-increasing',
        `logSize: expected more than ${previousLogSize}, the size of ${orgId}'s security log anchored at height ${latest?.anchoredHeight ?? 0}, found ${body.logSize} (a replay, or the log was rewound)`,
        { orgId, anchoredLogSize: previousLogSize, logSize: body.logSize },
      );
    }
    const head = {
      orgId,
      logSize: body.logSize,
      headHash: body.headHash,
      previousLogSize,
      anchoredHeight: scope.env.height,
      anchoredTime: scope.env.time,
    };
    scope.writeAt(SecurityLogHeadSchema, head, [
      latestKey,
      scope.key(StateNamespace.securityLogAnchor, textPart(orgId), u64Part(body.logSize)),
    ]);
    scope.emit('access.security-log-anchored', {
      orgId,
      logSize: body.logSize,
      previousLogSize,
      headHash: toHex(body.headHash),
    });
  },
});
