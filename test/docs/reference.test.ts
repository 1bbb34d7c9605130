// The documentation checked against the code. These tests fail when docs/reference and the code
// disagree about the settings, the CLI commands and their options, the error codes, the metrics or
// the audit events; when README.md stops being a short door that starts with the two commands;
// when a link in README.md or docs/ points to a file or heading that does not exist, or a comment
// in the code names a page or section that does not; when docs/README.md leaves a page out; and
// when a page points outside the repository.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));

function read(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

/** The first of these paths that exists: files in src/ move, and the checks must not lose them. */
function firstExisting(...paths: string[]): string {
  const found = paths.find((path) => existsSync(join(ROOT, path)));
  if (!found) throw new Error(`none of ${paths.join(', ')} exists`);
  return found;
}

/** Every file under `dir` (relative to the repository) whose name ends with one of `endings`. */
function filesUnder(dir: string, endings: string[]): string[] {
  const out: string[] = [];
  const walk = (relativeDir: string): void => {
    for (const name of readdirSync(join(ROOT, relativeDir))) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const path = join(relativeDir, name);
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (endings.some((ending) => name.endsWith(ending))) out.push(path.split(sep).join('/'));
    }
  };
  if (existsSync(join(ROOT, dir))) walk(dir);
  return out.sort();
}

/** The lines of a Markdown text outside fenced code blocks (the others are replaced by ''). */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

/** The lines of the `## title` section (or `### title`, with `level`), up to the next heading of that level or above. */
function section(markdown: string, title: string, level = 2): string[] {
  const lines = markdown.split('\n');
  const prose = proseLines(markdown);
  const marker = '#'.repeat(level);
  const start = prose.findIndex((line) => line.trim() === `${marker} ${title}`);
  if (start < 0) return [];
  const end = prose.findIndex((line, i) => i > start && new RegExp(`^#{1,${level}} `).test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** The cells of every Markdown table row in `lines`, trimmed. */
function tableRows(lines: string[]): string[][] {
  return lines
    .filter((line) => line.trim().startsWith('|') && !/^\|[\s|:-]+\|$/.test(line.trim()))
    .map((line) =>
      line
        .trim()
        .replace(/^\||\|$/g, '')
        .split('|')
        .map((cell) => cell.trim()),
    );
}

/** The fenced code blocks of a Markdown text, in order, as lists of lines. */
function codeBlocks(markdown: string): string[][] {
  const blocks: string[][] = [];
  let current: string[] | undefined;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) {
      if (current) {
        blocks.push(current);
        current = undefined;
      } else current = [];
    } else current?.push(line);
  }
  return blocks;
}

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The headings of a Markdown text, as written (without the #s). */
function headings(markdown: string): string[] {
  return proseLines(markdown)
    .map((line) => /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1])
    .filter((heading): heading is string => heading !== undefined);
}

/** The anchors of a Markdown text, with GitHub's -1, -2… for repeated headings. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const heading of headings(markdown)) {
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    out.add(count === 0 ? base : `${base}-${count}`);
    seen.set(base, count + 1);
  }
  return out;
}

/** The targets of the inline links and images of a Markdown text, outside code. */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(markdown)) {
    const withoutCode = line.replace(/`[^`]*`/g, '');
    for (const match of withoutCode.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1]!);
  }
  return targets;
}

const README = read('README.md');
const DOC_FILES = ['README.md', 'SECURITY.md', ...filesUnder('docs', ['.md'])];
const REFERENCE = (name: string): string => read(`docs/reference/${name}`);

// What the code says: read from wherever the restructuring of src/ has put it.
const configPath = firstExisting('src/kernel/config.ts', 'src/config.ts');
const configSource = read(configPath);
const errorsModule = (await import(pathToFileURL(join(ROOT, firstExisting('src/kernel/errors.ts', 'src/errors.ts'))).href)) as {
  ERROR_CATALOGUE: Record<string, { status: number; detail: string }>;
};
type CommandNode = { name(): string; commands: readonly CommandNode[]; options: readonly { long?: string }[] };
const cliModule = (await import(pathToFileURL(join(ROOT, 'src/cli/main.ts')).href)) as { buildProgram(): CommandNode };
const sourceFiles = filesUnder('src', ['.ts']).filter((path) => !path.endsWith('.test.ts'));

describe('docs/reference/error-codes.md', () => {
  const rows = tableRows(section(REFERENCE('error-codes.md'), 'API error codes'));

  it('has a table', () => {
    expect(rows.length).toBeGreaterThan(0);
  });

  for (const [code, { status, detail }] of Object.entries(errorsModule.ERROR_CATALOGUE)) {
    it(`lists ${code} with status ${status} and its default detail`, () => {
      const row = rows.find((cells) => cells[0] === `\`${code}\``);
      expect(row, `no row for \`${code}\` in the error table of docs/reference/error-codes.md`).toBeDefined();
      expect(row![1], `status of ${code}`).toBe(String(status));
      expect(row![3], `default detail of ${code}`).toBe(detail);
    });
  }

  it('lists no code the catalogue does not have', () => {
    const listed = rows.map((cells) => cells[0]).filter((cell) => cell !== undefined && /^`[a-z_]+`$/.test(cell));
    const known = Object.keys(errorsModule.ERROR_CATALOGUE).map((code) => `\`${code}\``);
    expect(listed.filter((cell) => !known.includes(cell!))).toEqual([]);
  });

  it('has the OAuth error codes too', () => {
    const oauthRows = tableRows(section(REFERENCE('error-codes.md'), 'OAuth error codes'));
    for (const code of ['invalid_request', 'invalid_client', 'invalid_grant', 'invalid_scope', 'access_denied', 'unsupported_grant_type']) {
      expect(oauthRows.some((cells) => cells[0] === `\`${code}\``), code).toBe(true);
    }
  });
});

describe('docs/reference/configuration.md', () => {
  const throughValue = [...configSource.matchAll(/\bvalue\(\s*'([A-Z][A-Z0-9_]*)'\s*\)/g)].map((m) => m[1]!);
  const direct = [...configSource.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)].map((m) => m[1]!);
  const variables = new Set([...throughValue, ...direct]);
  const rows = tableRows(section(REFERENCE('configuration.md'), 'Environment variables'));

  it(`finds the variables ${configPath} reads`, () => {
    expect(throughValue).toContain('PORT');
    expect(throughValue).toContain('DATABASE_URL');
  });

  it(`${configPath} reads the environment only through value() and env.NAME`, () => {
    // Otherwise a variable could be read without this test seeing it.
    const code = configSource.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    expect(code).not.toMatch(/process\.env\s*[.[]/);
    expect(code.match(/\benv\s*\[/g) ?? []).toHaveLength(1); // the one inside value()
  });

  it('no other file of src/ reads process.env', () => {
    const readers = sourceFiles.filter((path) => path !== configPath && /process\.env\s*[.[]/.test(read(path).replace(/\/\/.*$/gm, '')));
    expect(readers).toEqual([]);
  });

  for (const name of variables) {
    it(`documents ${name} in the configuration table`, () => {
      const row = rows.find((cells) => cells[0] === `\`${name}\``);
      expect(row, `no row for \`${name}\` in the table of docs/reference/configuration.md`).toBeDefined();
      expect(row!.length, `${name}: a default and a meaning`).toBeGreaterThanOrEqual(3);
      expect(row![2]!.length, `${name}: the meaning`).toBeGreaterThan(0);
    });
  }

  it('documents no variable the code does not read', () => {
    const listed = rows.map((cells) => /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[0] ?? '')?.[1]).filter((name) => name !== undefined);
    expect(listed.filter((name) => !variables.has(name!))).toEqual([]);
  });
});

describe('docs/reference/cli.md', () => {
  const cli = REFERENCE('cli.md');
  const rows = tableRows(section(cli, 'Commands'));
  const synopsis = section(cli, 'Synopsis').filter((line) => line.startsWith('accounts '));
  const program = cliModule.buildProgram();

  /** Every command that does something (a group's subcommands, not the group), with its long options. */
  const leaves: { path: string; options: string[] }[] = [];
  const walk = (command: CommandNode, prefix: string[]): void => {
    for (const sub of command.commands) {
      const path = [...prefix, sub.name()];
      if (sub.commands.length > 0) walk(sub, path);
      else leaves.push({ path: path.join(' '), options: sub.options.map((option) => option.long).filter((long): long is string => long !== undefined) });
    }
  };
  walk(program, []);

  /** `user create <username> --email …` → `user create`: the words before the first argument, option or redirection. */
  const commandWords = (text: string): string => {
    const words: string[] = [];
    for (const word of text.trim().split(/\s+/)) {
      if (/^[<>[-]/.test(word)) break;
      words.push(word);
    }
    return words.join(' ');
  };
  const commandOf = (cell: string): string | undefined => {
    const inside = /^`([^`]+)`$/.exec(cell)?.[1];
    return inside === undefined ? undefined : commandWords(inside);
  };

  it('finds the commands', () => {
    expect(leaves.map((leaf) => leaf.path)).toEqual(expect.arrayContaining(['serve', 'user create', 'token revoke', 'client create', 'export']));
  });

  for (const { path, options } of leaves) {
    it(`documents \`accounts ${path}\` and its options`, () => {
      const row = rows.find((cells) => commandOf(cells[0] ?? '') === path);
      expect(row, `no row for \`${path}\` in the command table of docs/reference/cli.md`).toBeDefined();
      const line = synopsis.find((candidate) => candidate === `accounts ${path}` || candidate.startsWith(`accounts ${path} `));
      expect(line, `no line for \`accounts ${path}\` in the synopsis of docs/reference/cli.md`).toBeDefined();
      for (const option of options) {
        expect(row!.join(' | '), `${path}: ${option} in its row`).toContain(option);
        expect(line, `${path}: ${option} in the synopsis`).toContain(option);
      }
    });
  }

  it('documents no command the program does not have', () => {
    const known = new Set(leaves.map((leaf) => leaf.path));
    const listed = rows.map((cells) => commandOf(cells[0] ?? '')).filter((path) => path !== undefined);
    expect(listed.filter((path) => !known.has(path!))).toEqual([]);
    const inSynopsis = synopsis.map((line) => commandWords(line.replace(/^accounts /, '')));
    expect(inSynopsis.filter((path) => path !== '' && !known.has(path))).toEqual([]);
  });

  it('documents --version and --help', () => {
    expect(synopsis).toContain('accounts --version');
    expect(cli).toContain('--help');
  });
});

describe('docs/reference/metrics.md', () => {
  const inCode = new Set(sourceFiles.flatMap((path) => [...read(path).matchAll(/\bname:\s*'(accounts_[a-z0-9_]+)'/g)].map((m) => m[1]!)));
  const rows = tableRows(section(REFERENCE('metrics.md'), 'Metrics'));

  it('finds the metrics in src/', () => {
    expect(inCode).toContain('accounts_http_requests_total');
  });

  for (const name of inCode) {
    it(`documents ${name}`, () => {
      expect(rows.some((cells) => cells[0] === `\`${name}\``), `no row for \`${name}\` in docs/reference/metrics.md`).toBe(true);
    });
  }

  it('documents no metric the code does not have', () => {
    const listed = rows.map((cells) => /^`(accounts_[a-z0-9_]+)`$/.exec(cells[0] ?? '')?.[1]).filter((name) => name !== undefined);
    expect(listed.filter((name) => !inCode.has(name!))).toEqual([]);
  });
});

describe('docs/reference/audit-trail.md', () => {
  const definition = sourceFiles.map((path) => /AUDIT_EVENTS\s*=\s*\[([^\]]*)\]/.exec(read(path))?.[1]).find((list) => list !== undefined) ?? '';
  const events = [...definition.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
  const documented = section(REFERENCE('audit-trail.md'), 'Events').join('\n');

  it('finds the audit events in src/', () => {
    expect(events).toContain('login_failed');
  });

  for (const event of events) {
    it(`documents ${event}`, () => {
      expect(documented, `\`${event}\` in the Events section of docs/reference/audit-trail.md`).toContain(`\`${event}\``);
    });
  }
});

describe('docs/reference/api.md and oauth.md', () => {
  it('have the sections the code points at', () => {
    const api = headings(REFERENCE('api.md'));
    for (const title of ['Resources', 'The user', 'Email addresses', 'PATCH fields', 'Order of checks and status codes', 'Authentication']) {
      expect(api, title).toContain(title);
    }
    const oauth = headings(REFERENCE('oauth.md'));
    for (const title of ['Endpoints', 'The authorization request', 'The token request', 'What is enforced']) {
      expect(oauth, title).toContain(title);
    }
  });

  it('list the resources of the API', () => {
    const rows = tableRows(section(REFERENCE('api.md'), 'Resources'));
    for (const [method, path] of [
      ['GET', '/api/v1.1/users/:username/'],
      ['PATCH', '/api/v1.1/users/:username/'],
      ['GET', '/api/v1.1/users/:username/emails/'],
      ['POST', '/api/v1.1/users/:username/emails/'],
      ['DELETE', '/api/v1.1/users/:username/emails/'],
    ]) {
      expect(rows.some((cells) => cells[0] === method && cells[1] === `\`${path}\``), `${method} ${path}`).toBe(true);
    }
  });
});

describe('README.md, the door', () => {
  it('is at most 250 lines', () => {
    expect(README.split('\n').length).toBeLessThanOrEqual(250);
  });

  it('shows npm install and npm start, under "Quick start", before any other code block', () => {
    const first = codeBlocks(README)[0] ?? [];
    const commands = first.map((line) => line.trim()).filter((line) => line !== '');
    expect(commands).toEqual(['npm install', 'npm start']);
    const quickStart = README.indexOf('## Quick start');
    const firstFence = README.search(/^\s*```/m);
    expect(quickStart).toBeGreaterThanOrEqual(0);
    expect(firstFence).toBeGreaterThan(quickStart);
  });

  it('links to the documentation index and the security policy', () => {
    const targets = linkTargets(README);
    expect(targets).toContain('docs/README.md');
    expect(targets).toContain('SECURITY.md');
  });
});

describe('docs/README.md, the index', () => {
  it('links to every page of docs/', () => {
    const index = read('docs/README.md');
    const linked = new Set(linkTargets(index).map((target) => resolve(join(ROOT, 'docs'), target.split('#')[0]!)));
    const pages = filesUnder('docs', ['.md']).filter((path) => path !== 'docs/README.md');
    expect(pages.filter((page) => !linked.has(join(ROOT, page)))).toEqual([]);
  });
});

describe('links', () => {
  for (const file of DOC_FILES) {
    it(`every relative link in ${file} points to a file, and a heading, that exist`, () => {
      const broken: string[] = [];
      for (const target of linkTargets(read(file))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
        const absolute = pathPart === '' ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), decodeURIComponent(pathPart));
        if (relative(ROOT, absolute).startsWith('..')) {
          broken.push(`${target}: outside the repository`);
          continue;
        }
        if (!existsSync(absolute)) {
          broken.push(`${target}: no such file`);
          continue;
        }
        if (anchor !== undefined && absolute.endsWith('.md') && !anchors(readFileSync(absolute, 'utf8')).has(anchor)) {
          broken.push(`${target}: no such heading`);
        }
      }
      expect(broken).toEqual([]);
    });
  }

  it('every page or section the code and its comments name exists', () => {
    // e.g. `(docs/reference/api.md, "PATCH fields")`, `README.md, section "Configuration"`.
    const files = [...sourceFiles, ...filesUnder('test', ['.ts']), ...filesUnder('bench', ['.ts'])];
    const broken: string[] = [];
    for (const file of files) {
      const text = read(file);
      for (const match of text.matchAll(/\b((?:docs\/[\w./-]+\.md)|README\.md|SECURITY\.md)\b(?:,\s*(?:section\s+)?((?:"[^"\n]+"(?:\s*(?:,|and)\s*)?)+))?/g)) {
        const path = match[1]!;
        if (!existsSync(join(ROOT, path))) {
          broken.push(`${file}: ${path}: no such file`);
          continue;
        }
        const titles = [...(match[2] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
        const present = headings(read(path)).map((heading) => heading.replace(/`/g, ''));
        for (const title of titles) if (!present.includes(title)) broken.push(`${file}: ${path}, "${title}": no such heading`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('nothing points outside the repository', () => {
  for (const file of DOC_FILES) {
    it(`${file} names no path outside the repository and no issue number`, () => {
      const text = read(file);
      expect(text).not.toContain('../shared');
      expect(text).not.toMatch(/\/work\//);
      expect(text).not.toMatch(/\bissues?\s*#?\s*\d+/i);
    });
  }
});
