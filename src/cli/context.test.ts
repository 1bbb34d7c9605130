// `--password-stdin` on a terminal used to echo the password as it was typed, with no prompt.
// A fake terminal here: a stream that says it is a TTY and records its raw mode.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Interrupted, readPassword } from './context.ts';

function fakeTerminal() {
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    modes: [] as boolean[],
    setRawMode(mode: boolean) {
      stdin.modes.push(mode);
      return stdin;
    },
  });
  const stderr = new PassThrough();
  let shown = '';
  stderr.on('data', (chunk: Buffer) => (shown += chunk.toString()));
  /** Types keys once the prompt is on the screen (and raw mode on), as a person would. */
  const typeAfter = async (prompt: string, keys: string) => {
    while (!shown.includes(prompt)) await new Promise((r) => setImmediate(r));
    stdin.write(keys);
  };
  return { stdin, stderr, shown: () => shown, typeAfter };
}

describe('readPassword on a terminal', () => {
  it('prompts on standard error, shows nothing typed, and puts the terminal back', async () => {
    const t = fakeTerminal();
    const password = readPassword({ prompt: 'Password for janedoe: ' }, t.stdin, t.stderr);
    await t.typeAfter('Password for janedoe: ', 'correct horse\r');
    expect(await password).toBe('correct horse');
    expect(t.shown()).toBe('Password for janedoe: \n');
    expect(t.stdin.modes).toEqual([true, false]);
  });

  it('handles Backspace (a whole character), Ctrl-U, and keys that arrive one at a time', async () => {
    const t = fakeTerminal();
    const password = readPassword({ prompt: 'Password: ' }, t.stdin, t.stderr);
    await t.typeAfter('Password: ', 'wrong');
    t.stdin.write('\u0015'); // Ctrl-U: start again
    for (const key of ['p', 'a', 's', 's', 'é', '\u007f', 'e', '\u001b[D', '!', '\b', '-', 'w', 'o', 'r', 'd', '\n']) t.stdin.write(key);
    expect(await password).toBe('passe-word');
    expect(t.shown()).toBe('Password: \n');
  });

  it('asks twice when confirming, and refuses two different passwords', async () => {
    const same = fakeTerminal();
    const confirmed = readPassword({ prompt: 'Password: ', confirm: true }, same.stdin, same.stderr);
    await same.typeAfter('Password: ', 'long-enough\r');
    await same.typeAfter('Again, to confirm: ', 'long-enough\r');
    expect(await confirmed).toBe('long-enough');
    expect(same.shown()).toBe('Password: \nAgain, to confirm: \n');

    const different = fakeTerminal();
    const refused = readPassword({ prompt: 'Password: ', confirm: true }, different.stdin, different.stderr);
    await different.typeAfter('Password: ', 'long-enough\r');
    await different.typeAfter('Again, to confirm: ', 'long-enougg\r');
    await expect(refused).rejects.toThrow('the two passwords differ; nothing was changed');
    expect(different.stdin.modes).toEqual([true, false, true, false]);
  });

  it.each([
    ['Ctrl-C', 'secr\u0003'],
    ['Ctrl-D on an empty line', '\u0004'],
  ])('%s stops the command and puts the terminal back', async (_name, keys) => {
    const t = fakeTerminal();
    const password = readPassword({ prompt: 'Password: ' }, t.stdin, t.stderr);
    await t.typeAfter('Password: ', keys);
    await expect(password).rejects.toBeInstanceOf(Interrupted);
    expect(t.stdin.modes).toEqual([true, false]);
  });
});

describe('readPassword from a pipe or a file', () => {
  it('reads the first line without a prompt, as before', async () => {
    const stdin = new PassThrough();
    const stderr = new PassThrough();
    let shown = '';
    stderr.on('data', (chunk: Buffer) => (shown += chunk.toString()));
    stdin.end('first-line-password\r\nsecond line\n');
    expect(await readPassword({ prompt: 'Password: ', confirm: true }, stdin, stderr)).toBe('first-line-password');
    expect(shown).toBe('');
  });
});
