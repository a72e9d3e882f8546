/**
 * `medledger verify <bundle> --genesis <file> [--json]`: checks a verification bundle offline,
 * from the genesis file alone (verify/'s light client and proofs; no node is asked). Prints a
 * short human summary of what was proven (exit 0), or the first part that failed (exit 1); a
 * file that cannot be read is exit 2. With `--json`, one JSON object on stdout either way.
 */
import { readFileSync, statSync } from 'node:fs';

import { type Command, CommanderError } from 'commander';

import {
  VerifyError,
  parseBundleText,
  summariseVerifiedBundle,
  trustGenesis,
  verifyBundle,
  verifyLimits,
} from '../verify/index.ts';

/** Exit codes of `medledger verify`. */
export const verifyExitCode = {
  verified: 0,
  /** The bundle does not verify (or is not a bundle): the part is named. */
  failed: 1,
  /** A file could not be read. */
  cannotRead: 2,
} as const;

/** Largest genesis file read, in bytes. */
const genesisFileBytesMax = 1024 * 1024;

class UnreadableFile extends Error {}

function readText(path: string, what: string, bytesMax: number): string {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UnreadableFile(
      `${what} ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(error))}`,
    );
  }
  if (size > bytesMax) {
    throw new UnreadableFile(`${what} ${path} is ${size} bytes, at most ${bytesMax} are read`);
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UnreadableFile(
      `${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

/** Runs the check; returns the exit code. `out` and `err` take whole lines. */
export function runVerify(options: {
  bundlePath: string;
  genesisPath: string;
  json: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
}): number {
  let bundleText: string;
  let genesisText: string;
  try {
    bundleText = readText(options.bundlePath, 'bundle', verifyLimits.bundleCharsMax);
    genesisText = readText(options.genesisPath, 'genesis file', genesisFileBytesMax);
  } catch (error) {
    if (!(error instanceof UnreadableFile)) throw error;
    options.err(`medledger verify: ${error.message}`);
    return verifyExitCode.cannotRead;
  }
  try {
    let genesisJson: unknown;
    try {
      genesisJson = JSON.parse(genesisText);
    } catch (error) {
      throw new VerifyError('genesis', 'genesis', `not JSON (${(error as Error).message})`);
    }
    const genesis = trustGenesis(genesisJson);
    const verified = verifyBundle(parseBundleText(bundleText), genesis);
    if (options.json) {
      options.out(JSON.stringify({ verified: true, ...verified }));
    } else {
      options.out(`VERIFIED ${verified.kind} bundle of chain ${verified.chainId}`);
      for (const line of summariseVerifiedBundle(verified)) options.out(`  ${line}`);
    }
    return verifyExitCode.verified;
  } catch (error) {
    if (!(error instanceof VerifyError)) throw error;
    if (options.json) {
      options.out(
        JSON.stringify({
          verified: false,
          code: error.code,
          part: error.part,
          otherPart: error.otherPart,
          message: error.message,
        }),
      );
    } else {
      options.err(`NOT VERIFIED: ${error.message}`);
    }
    return verifyExitCode.failed;
  }
}

/** Registers `medledger verify`. */
export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      'check a verification bundle offline from the genesis file alone; exits non-zero naming the first part that failed',
    )
    .argument('<bundle>', 'the bundle (JSON), e.g. from GET /chain/bundles/record-version')
    .requiredOption('--genesis <file>', "the network's genesis file")
    .option('--json', 'print the result as one JSON object', false)
    .action((bundlePath: string, options: { genesis: string; json: boolean }) => {
      const code = runVerify({
        bundlePath,
        genesisPath: options.genesis,
        json: options.json,
        out: (line) => console.log(line),
        err: (line) => console.error(line),
      });
      // The result is printed; main returns the code of a CommanderError without printing it.
      if (code !== verifyExitCode.verified) {
        throw new CommanderError(code, `medledger.verify.exit-${code}`, 'verify');
      }
    });
}
