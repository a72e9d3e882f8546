/**
 * The records service's Prometheus metrics (prom-client), appended to the node's on `GET
 * /metrics`: FHIR requests refused before authorisation, the events of the node's security audit
 * log, and the events it lost (rate limit, rotation, failed writes) — decision 0059. Read from
 * the service's counters at each scrape; a registry of their own, so names never mix.
 */
import { Counter, Gauge, Registry } from 'prom-client';

import type { SecurityAuditCounts } from '../records/index.ts';

/** The metrics text of `counts()`, for `buildApiServer`'s `extraMetrics`. */
export function securityAuditMetrics(counts: () => SecurityAuditCounts): () => Promise<string> {
  const registry = new Registry();
  new Counter({
    name: 'medledger_fhir_refusals_total',
    help: 'FHIR requests refused before authorisation (bad token, body, media type …), by IssueType.',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, value] of Object.entries(counts().refusals)) this.inc({ code }, value);
    },
  });
  new Counter({
    name: 'medledger_security_audit_events_total',
    help: 'AuditEvents written to the node-local security audit log, by outcome (0, 4, 8).',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [outcome, value] of Object.entries(counts().recorded)) {
        this.inc({ outcome }, value);
      }
    },
  });
  new Counter({
    name: 'medledger_security_audit_dropped_total',
    help: 'Security audit events not kept one by one: rate-limit (counted in a summary event), rotated (oldest removed when full), write-failed.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      const now = counts();
      this.inc({ reason: 'rate-limit' }, now.notItemised);
      this.inc({ reason: 'rotated' }, now.rotated);
      this.inc({ reason: 'write-failed' }, now.failed);
    },
  });
  new Gauge({
    name: 'medledger_security_audit_rows',
    help: 'Events kept in the node-local security audit log.',
    registers: [registry],
    collect() {
      this.set(counts().rows);
    },
  });
  return () => registry.metrics();
}
