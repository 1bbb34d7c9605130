// The README is the user's door: these tests fail when it and the code disagree about the error
// codes, the environment variables, or the first commands a newcomer runs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/kernel/errors.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const configSource = readFileSync(new URL('../../src/kernel/config.ts', import.meta.url), 'utf8');

/** The lines of the `## title` section, up to the next heading of the same level. */
function section(title: string): string[] {
  const lines = readme.split('\n');
  const start = lines.findIndex((line) => line.trim() === `## ${title}`);
  if (start < 0) return [];
  const end = lines.findIndex((line, i) => i > start && /^## /.test(line));
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

/** The fenced code blocks of the README, in order, as lists of lines. */
function codeBlocks(): string[][] {
  const blocks: string[][] = [];
  let current: string[] | undefined;
  for (const line of readme.split('\n')) {
    if (/^\s*```/.test(line)) {
      if (current) {
        blocks.push(current);
        current = undefined;
      } else current = [];
    } else current?.push(line);
  }
  return blocks;
}

describe('README "Error codes"', () => {
  const rows = tableRows(section('Error codes'));

  it('has a table', () => {
    expect(rows.length).toBeGreaterThan(0);
  });

  for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
    it(`lists ${code} with status ${status}`, () => {
      const row = rows.find((cells) => cells[0] === `\`${code}\``);
      expect(row, `no row for \`${code}\` in the README's error table`).toBeDefined();
      expect(row![1], `status of ${code}`).toBe(String(status));
    });
  }

  it('lists no code the catalogue does not have', () => {
    const listed = rows.map((cells) => cells[0]).filter((cell) => cell !== undefined && /^`[a-z_]+`$/.test(cell));
    const known = Object.keys(ERROR_CATALOGUE).map((code) => `\`${code}\``);
    expect(listed.filter((cell) => !known.includes(cell!))).toEqual([]);
  });
});

describe('README "Configuration"', () => {
  const variables = [...configSource.matchAll(/\bvalue\(\s*'([A-Z][A-Z0-9_]*)'\s*\)/g)].map((m) => m[1]!);
  const rows = tableRows(section('Configuration'));

  it('finds the variables src/config.ts reads', () => {
    expect(variables).toContain('PORT');
    expect(variables).toContain('DATABASE_URL');
  });

  it('src/config.ts reads the environment only through value()', () => {
    // Otherwise a variable could be read without this test seeing it.
    const code = configSource.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    expect(code).not.toMatch(/process\.env\s*[.[]/);
    expect(code.match(/\benv\s*\[/g) ?? []).toHaveLength(1); // the one inside value()
  });

  for (const name of new Set(variables)) {
    it(`documents ${name} in the configuration table`, () => {
      const row = rows.find((cells) => cells[0] === `\`${name}\``);
      expect(row, `no row for \`${name}\` in the README's configuration table`).toBeDefined();
      expect(row!.length, `${name}: a default and a meaning`).toBeGreaterThanOrEqual(3);
      expect(row![2]!.length, `${name}: the meaning`).toBeGreaterThan(0);
    });
  }
});

describe('README quick start', () => {
  it('shows npm install, npm start and npm test before any other code block', () => {
    const first = codeBlocks()[0] ?? [];
    const commands = first.map((line) => line.trim()).filter((line) => line !== '');
    expect(commands).toEqual(['npm install', 'npm start', 'npm test']);
    const quickStart = readme.indexOf('## Quick start');
    const firstFence = readme.search(/^\s*```/m);
    expect(quickStart).toBeGreaterThanOrEqual(0);
    expect(firstFence).toBeGreaterThan(quickStart);
  });
});
