import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The guides as GitHub shows them (docs/guides/*.md as committed): the code
// blocks are the example files, the generated pages are current, and no
// relative link is dead. The site's links are test/site-links.test.ts's.
const docs = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const repo = resolve(docs, '..');
const guides = readdirSync(join(docs, 'guides'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => join(docs, 'guides', f));
const readmes = readdirSync(join(repo, 'packages')).map((p) =>
  join(repo, 'packages', p, 'README.md'),
);
const tracked = new Set(
  execFileSync('git', ['ls-files'], { cwd: repo, encoding: 'utf8' })
    .split('\n')
    .map((f) => join(repo, f)),
);
const trackedDirs = new Set([...tracked].flatMap((f) => [dirname(f), dirname(dirname(f))]));

/** The relative link targets of a Markdown file, outside its code blocks. */
function links(path: string): string[] {
  const prose = readFileSync(path, 'utf8').replace(/\n(`{3,})[^\n]*\n[\s\S]*?\n\1(?=\n)/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)[^)]*\)/g)]
    .map((m) => m[1])
    .filter((t) => !/^(?:[a-z][a-z0-9+.-]*:|#)/i.test(t));
}

const node = (...args: string[]) =>
  execFileSync(process.execPath, args, { cwd: docs, encoding: 'utf8', stdio: 'pipe' });

describe('the guides on GitHub', () => {
  it("each included example's code block is the example file, verbatim", () => {
    expect(() => node('scripts/guides.mjs', '--check', '--no-site')).not.toThrow();
    const text = guides.map((g) => readFileSync(g, 'utf8')).join('\n');
    expect(text).not.toContain('{@includeCode');
    expect(text.match(/<!-- include: /g)?.length).toBeGreaterThanOrEqual(8);
  });

  it('the CIFAR-10 results page is what the committed runs generate', () => {
    expect(() => node('scripts/cifar10-results.mjs', '--check')).not.toThrow();
  });

  it('no relative link of the guides, index.md or a README is dead or git-ignored', () => {
    const dead: string[] = [];
    for (const file of [join(repo, 'README.md'), join(docs, 'index.md'), ...guides, ...readmes]) {
      for (const target of links(file)) {
        const path = resolve(dirname(file), decodeURIComponent(target.split('#')[0]));
        if (!tracked.has(path) && !trackedDirs.has(path)) {
          dead.push(`${relative(repo, file)}: ${target}`);
        }
      }
    }
    expect(dead).toEqual([]);
  });

  it('guides 1-7 link the API they use, with links the site turns into API links', () => {
    for (const guide of guides.filter((g) => /\/0[1-7]-/.test(g))) {
      const api = links(guide).filter((t) =>
        /^(?:\.\.\/)+packages\/[^/]+\/(?:src\/|README\.md)/.test(t),
      );
      expect(api.length, relative(docs, guide)).toBeGreaterThanOrEqual(1);
    }
  });
});
