import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { latestCheckpoint, readCheckpoint } from '../src';
import { tempDirs } from './helpers';

const fresh = tempDirs();

const child = fileURLToPath(new URL('./fixtures/checkpoint-child.mjs', import.meta.url));

/** Starts the child, waits for `until` on its stdout (plus `delayMs`), then kills it with SIGKILL. */
function killWhen(dir: string, mode: string, until: string, delayMs = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, join(dir, 'checkpoints'), mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += String(d);
      if (out.includes(until)) setTimeout(() => p.kill('SIGKILL'), delayMs);
    });
    p.stderr.on('data', (d) => (err += String(d)));
    p.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}: ${err}`)),
    );
  });
}

describe('atomic checkpoints', () => {
  it('a process killed in the middle of writing leaves the previous checkpoint loadable', async () => {
    const dir = fresh();
    await killWhen(dir, 'hang', 'MIDWAY');
    const names = readdirSync(join(dir, 'checkpoints'));
    expect(names.some((n) => n.startsWith('.tmp-step-00000002'))).toBe(true); // the half-written one
    const latest = (await latestCheckpoint(dir))!;
    expect(latest.endsWith('step-00000001')).toBe(true);
    const checkpoint = await readCheckpoint(latest);
    expect(checkpoint.weights.map((w) => w.data[0])).toEqual([1, 2, 3, 4]);
  });

  it('a process killed between the two renames of a same-step rewrite keeps that step (the new weights)', async () => {
    const dir = fresh();
    await killWhen(dir, 'swap', 'MIDWAY');
    const latest = (await latestCheckpoint(dir))!;
    expect(latest?.endsWith('step-00000001')).toBe(true);
    const checkpoint = await readCheckpoint(latest);
    expect(checkpoint.weights.map((w) => w.data[0])).toEqual([9, 9, 9, 9]);
    // Nothing is left aside.
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual(['step-00000001']);
  });

  it('killed at arbitrary moments, the newest complete checkpoint always loads', async () => {
    for (const delay of [5, 37, 90]) {
      const dir = fresh();
      await killWhen(dir, 'loop', 'WROTE', delay);
      const latest = (await latestCheckpoint(dir))!;
      const checkpoint = await readCheckpoint(latest);
      expect(checkpoint.weights).toHaveLength(4);
      expect(checkpoint.weights[3].data.every((x) => x === 4)).toBe(true);
    }
  });
});
