import { existsSync, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { redactUrl } from '../settings.js';

let cached: Record<string, string> | undefined;

function currentUser(): string {
  try {
    return userInfo().username || process.env.USER || 'unknown';
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

function findGitDir(start: string): string | undefined {
  let dir = start;
  for (;;) {
    const candidate = join(dir, '.git');
    if (existsSync(candidate)) {
      if (statSync(candidate).isDirectory()) return candidate;
      // A worktree or submodule: `.git` is a file naming the real directory.
      const match = /^gitdir:\s*(.+)$/m.exec(readFileSync(candidate, 'utf8'));
      if (match?.[1]) return resolve(dir, match[1].trim());
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function readRef(gitDir: string, commonDir: string, ref: string): string | undefined {
  for (const base of [gitDir, commonDir]) {
    const file = join(base, ref);
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  }
  const packed = join(commonDir, 'packed-refs');
  if (existsSync(packed)) {
    for (const line of readFileSync(packed, 'utf8').split('\n')) {
      const [sha, name] = line.split(' ');
      if (name === ref && sha) return sha;
    }
  }
  return undefined;
}

/** Git commit, branch and origin URL of the checkout holding `start`, read from `.git` without running git. */
export function gitTags(start: string): Record<string, string> {
  try {
    const gitDir = findGitDir(start);
    if (!gitDir) return {};
    const commonFile = join(gitDir, 'commondir');
    const commonDir = existsSync(commonFile)
      ? resolve(gitDir, readFileSync(commonFile, 'utf8').trim())
      : gitDir;
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    const tags: Record<string, string> = {};
    if (head.startsWith('ref: ')) {
      const ref = head.slice(5);
      tags['mlflow.source.git.branch'] = ref.replace(/^refs\/heads\//, '');
      const commit = readRef(gitDir, commonDir, ref);
      if (commit) tags['mlflow.source.git.commit'] = commit;
    } else if (/^[0-9a-f]{40,64}$/.test(head)) {
      tags['mlflow.source.git.commit'] = head;
    }
    const config = join(commonDir, 'config');
    if (existsSync(config)) {
      const match = /\[remote "origin"\][^[]*?url\s*=\s*(\S+)/.exec(readFileSync(config, 'utf8'));
      if (match?.[1]) tags['mlflow.source.git.repoURL'] = redactUrl(match[1]);
    }
    return tags;
  } catch {
    return {};
  }
}

/**
 * The tags MLflow's Python client puts on every new run: user, source name and type, and git commit,
 * branch and origin URL when the program lives in a git checkout. Computed once per process.
 */
export function defaultRunTags(): Record<string, string> {
  if (cached) return { ...cached };
  const script = process.argv[1] ? resolve(process.argv[1]) : undefined;
  cached = {
    'mlflow.user': currentUser(),
    'mlflow.source.name': script ?? '<console>',
    'mlflow.source.type': 'LOCAL',
    ...gitTags(script ? dirname(script) : process.cwd()),
  };
  return { ...cached };
}
