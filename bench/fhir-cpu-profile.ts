// Preloaded into each node process by `npm run bench:fhir` when `BENCH_FHIR_CPU_PROF` is set
// (Node 20 refuses `--cpu-prof` in NODE_OPTIONS): starts the V8 sampling profiler and writes
// `<pid>.cpuprofile` into that folder when the process exits (the bench stops nodes gracefully).
// The bench passes this file's text as a `data:` URL (`--import`), which no TypeScript loader
// sees in the nodes' worker threads: keep it free of type syntax.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

const folder = process.env.BENCH_FHIR_CPU_PROF;
// The main thread only: the verifier threads load this module too.
if (folder !== undefined && isMainThread) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  // A session on this thread answers synchronously, so the profile is written at once: on
  // SIGTERM (the bench's graceful stop, whose shutdown may outlast the harness's grace period)
  // or at exit, whichever comes first.
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (error, result) => {
      if (error === null) {
        writeFileSync(join(folder, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
      }
    });
  };
  process.once('SIGTERM', write);
  process.once('exit', write);
}
