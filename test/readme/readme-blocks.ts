import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One fenced code block of a README, as written there. */
export interface ReadmeBlock {
  /** The README's path from the repository root, `/`-separated. */
  readme: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** First word of the info string (`ts`, `sh`, `yaml`, ...); `''` when there is none. */
  lang: string;
  /** The rest of the info string: `yaml train.yaml` names the file the block is. */
  info: string;
  /** The block's text, its indentation (inside a list item) removed. */
  code: string;
  /** The HTML comment on the line before the opening fence, if any (`<!-- walkthrough: ... -->`). */
  comment?: string;
  /** `readme:line`, how the test names the block. */
  id: string;
}

const SKIPPED_DIRS = new Set(['node_modules', '.git', 'dist', 'mlruns', 'mlartifacts', 'coverage']);

/** Every `README.md` under `root` (any case of the name), outside dependencies and build output. */
export function findReadmes(root: string, dir = root): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.'))
        found.push(...findReadmes(root, join(dir, entry.name)));
    } else if (/^readme\.md$/i.test(entry.name)) {
      found.push(relative(root, join(dir, entry.name)).split('\\').join('/'));
    }
  }
  return found.sort();
}

/**
 * The fenced blocks of a Markdown text (``` and ~~~ fences, also indented inside list items), in order.
 * An unclosed fence is an error: the rest of the file would otherwise vanish from the check.
 */
export function parseBlocks(readme: string, text: string): ReadmeBlock[] {
  const lines = text.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`]*)$/.exec(lines[index] ?? '');
    if (!open) continue;
    const [, indent = '', fence = '', infoString = ''] = open;
    const [lang = '', ...rest] = infoString.trim().split(/\s+/);
    const body: string[] = [];
    let close = index + 1;
    const closing = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    while (close < lines.length && !closing.test(lines[close] ?? '')) {
      const line = lines[close] ?? '';
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
      close++;
    }
    if (close >= lines.length) throw new Error(`${readme}:${index + 1}: a code fence that is never closed`);
    const previous = lines[index - 1]?.trim() ?? '';
    blocks.push({
      readme,
      line: index + 1,
      lang: lang.toLowerCase(),
      info: rest.join(' '),
      code: `${body.join('\n')}\n`,
      ...(previous.startsWith('<!--') ? { comment: previous } : {}),
      id: `${readme}:${index + 1}`,
    });
    index = close;
  }
  return blocks;
}

/** Every fenced block of every README under `root`. */
export function readmeBlocks(root: string): ReadmeBlock[] {
  return findReadmes(root).flatMap((readme) => parseBlocks(readme, readFileSync(join(root, readme), 'utf8')));
}

/**
 * The command lines of a shell block: `\` continuations joined, comments and blank lines dropped.
 * Good enough for the plain commands READMEs hold (no heredocs, no `#` inside quotes).
 */
export function shellCommands(code: string): string[] {
  const joined = code.replace(/\\\n\s*/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line.length > 0);
}
