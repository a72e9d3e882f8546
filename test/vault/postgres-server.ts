// A private throwaway PostgreSQL cluster for the vault tests: initdb into a temp dir, a unix
// socket in that dir only (no TCP), fsync off (a test cluster need not survive a power cut), and
// stopped and removed at the end. Root runs initdb and pg_ctl as the `postgres` user via runuser.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type pg from 'pg';

/** A running test cluster: connection settings for `pg`, and `stop`. */
export type PostgresServer = {
  readonly connection: pg.PoolConfig;
  readonly binDir: string;
  stop(): void;
};

const tools = ['initdb', 'pg_ctl', 'postgres'];

function hasTools(dir: string): boolean {
  return tools.every((tool) => existsSync(join(dir, tool)));
}

function versionOf(dir: string): number {
  const match = /postgresql\/(\d+)\/bin/.exec(dir);
  return match === null ? 0 : Number(match[1]);
}

/**
 * The folder holding initdb, pg_ctl and postgres: `pg_config --bindir` first, then the Debian
 * layout (the newest `/usr/lib/postgresql/<major>/bin`), then the PATH. Found at run time: no
 * machine's path is written down here.
 */
export function findPostgresBinDir(): string | null {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (dir !== '' && hasTools(dir)) return dir;
  } catch {
    // No pg_config (it ships with libpq-dev, not always with the server): look further.
  }
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const dirs = readdirSync(debianRoot)
      .map((major) => join(debianRoot, major, 'bin'))
      .filter(hasTools)
      .sort((a, b) => versionOf(b) - versionOf(a));
    if (dirs[0] !== undefined) return dirs[0];
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && hasTools(dir)) return dir;
  }
  return null;
}

function idOf(user: string, flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
}

/**
 * Starts a throwaway cluster. Throws (so the tests fail, never skip) when no server binaries are
 * installed, saying which package to install.
 */
export function startPostgresServer(): PostgresServer {
  const binDir = findPostgresBinDir();
  if (binDir === null) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found (looked at ' +
        '`pg_config --bindir`, /usr/lib/postgresql/*/bin and the PATH); the vault tests need a ' +
        'real server: install the Debian package `postgresql` (apt-get install postgresql)',
    );
  }
  const asRoot = process.getuid?.() === 0;
  const root = mkdtempSync(join(tmpdir(), 'medledger-pg-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  // initdb refuses to run as root: the cluster belongs to the `postgres` system user instead.
  if (asRoot) {
    let uid: number;
    let gid: number;
    try {
      uid = idOf('postgres', '-u');
      gid = idOf('postgres', '-g');
    } catch {
      rmSync(root, { recursive: true, force: true });
      throw new Error(
        'running as root, but there is no `postgres` system user to run initdb as; install the Debian package `postgresql`',
      );
    }
    chownSync(root, uid, gid);
  }
  const run = (tool: string, args: string[]): void => {
    const command = asRoot ? 'runuser' : join(binDir, tool);
    const commandArgs = asRoot ? ['-u', 'postgres', '--', join(binDir, tool), ...args] : args;
    try {
      execFileSync(command, commandArgs, {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
      });
    } catch (error) {
      const output = error as { stdout?: string; stderr?: string };
      throw new Error(
        `${tool} ${args.join(' ')} failed:\n${output.stdout ?? ''}${output.stderr ?? ''}`,
      );
    }
  };
  try {
    run('initdb', [
      '-D',
      dataDir,
      '-U',
      'medledger',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    // Unix socket only, in the temp dir; fsync and friends off: the cluster is thrown away.
    appendFileSync(
      join(dataDir, 'postgresql.conf'),
      [
        "listen_addresses = ''",
        `unix_socket_directories = '${root}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 40',
        '',
      ].join('\n'),
    );
    run('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start']);
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  return {
    connection: { host: root, port: 5432, user: 'medledger', database: 'postgres' },
    binDir,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
