/**
 * `medledger vault rotate-kek --config <node config>`: rotates the key-encryption key of a
 * stopped node's vault (decision 0065). Every data key is re-wrapped under a new KEK in one
 * database transaction (`RecordVault.rotateKek`); no record is re-encrypted. The old KEK is then
 * destroyed (its file overwritten and replaced), unless `--keep-old <file>` names where to keep
 * it, for backups taken before the rotation.
 *
 * Crash safety: the new KEK is written to `vault-kek.next.json` (0600) before the vault changes,
 * and moved over `vault-kek.json` only after the rotation committed. If the process dies between
 * the two, the vault needs the new KEK and the node refuses to start saying so; running the
 * command again finds the vault already on the next KEK and finishes the move.
 */
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  openSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { Command } from 'commander';

import { MedLedgerError } from '../base/index.ts';
import { loadNodeConfig } from '../node/index.ts';
import {
  type RecordVault,
  type VaultKek,
  VaultError,
  generateVaultKek,
  loadVaultKekFile,
  saveVaultKekFile,
} from '../vault/index.ts';
import { openNodeVault, recordsFiles } from './start-records.ts';

/** What `rotateVaultKek` did. */
export interface KekRotation {
  readonly fromKekId: string;
  readonly toKekId: string;
  /** Data keys re-wrapped (0 when an interrupted rotation was only finished). */
  readonly rewrapped: number;
  /** The rotation had committed before; this run only moved the KEK files into place. */
  readonly finishedInterrupted: boolean;
  /** Where the old KEK was kept, or null when it was destroyed. */
  readonly keptOldAt: string | null;
}

function rotationError(message: string): MedLedgerError<'kek-rotation'> {
  return new MedLedgerError('kek-rotation', message);
}

/** Opens the vault with `kek`; `null` when the vault is wrapped by another KEK. */
async function openWith(options: Parameters<typeof openNodeVault>[0]): Promise<RecordVault | null> {
  try {
    return await openNodeVault(options);
  } catch (error) {
    if (error instanceof VaultError && error.code === 'wrong-kek') return null;
    if (
      error instanceof VaultError &&
      error.code === 'storage' &&
      /locked|busy/i.test(error.message)
    ) {
      throw rotationError(
        `the vault is in use (${error.message}); stop the node first (Ctrl-C or SIGTERM), then rotate`,
      );
    }
    throw error;
  }
}

/** Overwrites a file's bytes with zeros and syncs, before it is replaced (the old KEK). */
function overwriteWithZeros(path: string): void {
  const { size } = statSync(path);
  const descriptor = openSync(path, 'r+');
  try {
    writeSync(descriptor, new Uint8Array(size), 0, size, 0);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

/**
 * Rotates the KEK of the vault the node configuration `configFile` names (the node stopped).
 * Throws `MedLedgerError` (`kek-rotation`) naming what is wrong; nothing changes then.
 */
export async function rotateVaultKek(options: {
  configFile: string;
  keepOld: string | null;
}): Promise<KekRotation> {
  const config = loadNodeConfig(options.configFile);
  const currentPath = join(config.dataDir, recordsFiles.kek);
  const nextPath = join(config.dataDir, recordsFiles.kekNext);
  if (!existsSync(currentPath)) {
    throw rotationError(
      `${currentPath}: no vault KEK in the node's data folder; a node makes it at its first start`,
    );
  }
  if (options.keepOld !== null && existsSync(options.keepOld)) {
    throw rotationError(`--keep-old ${options.keepOld}: the file exists; name a new file`);
  }
  const current = await loadVaultKekFile(currentPath);
  const open = (kek: VaultKek) => openWith({ dataDir: config.dataDir, kek, config: config.vault });

  let next: VaultKek;
  let rewrapped = 0;
  let finishedInterrupted = false;
  const vault = await open(current);
  if (vault === null) {
    // The vault is not on the current KEK: an interrupted rotation left it on the next one.
    if (!existsSync(nextPath)) {
      throw rotationError(
        `the vault's data keys are not wrapped by ${currentPath} (KEK ${current.id}), and no ` +
          `${recordsFiles.kekNext} is there to finish a rotation with; restore the KEK file this vault was last rotated to`,
      );
    }
    next = await loadVaultKekFile(nextPath);
    const onNext = await open(next);
    if (onNext === null) {
      throw rotationError(
        `the vault is wrapped by neither ${recordsFiles.kek} (${current.id}) nor ${recordsFiles.kekNext} (${next.id}); restore the KEK file this vault was last rotated to`,
      );
    }
    await onNext.close();
    finishedInterrupted = true;
  } else {
    try {
      // A next KEK from a rotation that never committed is worthless: start over.
      if (existsSync(nextPath)) await rm(nextPath);
      next = generateVaultKek();
      await saveVaultKekFile({ path: nextPath, kek: next });
      rewrapped = (await vault.rotateKek(next)).rewrapped;
    } finally {
      await vault.close();
    }
  }
  if (options.keepOld !== null) {
    await copyFile(currentPath, options.keepOld, constants.COPYFILE_EXCL);
    chmodSync(options.keepOld, 0o600);
  }
  overwriteWithZeros(currentPath);
  renameSync(nextPath, currentPath);
  return {
    fromKekId: current.id,
    toKekId: next.id,
    rewrapped,
    finishedInterrupted,
    keptOldAt: options.keepOld,
  };
}

/** Registers `medledger vault rotate-kek`. */
export function registerVaultCommand(program: Command): void {
  const vault = program.command('vault').description("operate on a node's encrypted record vault");
  vault
    .command('rotate-kek')
    .description(
      "re-wrap every data key of a stopped node's vault under a new key-encryption key (no record is re-encrypted) and destroy the old KEK",
    )
    .requiredOption('--config <file>', "the node's configuration file (its data folder and vault)")
    .option(
      '--keep-old <file>',
      'keep the old KEK in this new file (mode 0600), e.g. for backups taken before the rotation',
    )
    .action(async (options: { config: string; keepOld?: string }) => {
      const rotation = await rotateVaultKek({
        configFile: options.config,
        keepOld: options.keepOld ?? null,
      });
      console.log(
        rotation.finishedInterrupted
          ? `finished an interrupted rotation: the vault is on KEK ${rotation.toKekId} (was ${rotation.fromKekId})`
          : `KEK rotated: ${rotation.fromKekId} → ${rotation.toKekId}, ${rotation.rewrapped} data keys re-wrapped`,
      );
      console.log(
        rotation.keptOldAt === null
          ? 'the old KEK was overwritten and deleted'
          : `the old KEK was kept in ${rotation.keptOldAt}; destroy it when the backups it opens are gone`,
      );
    });
}
