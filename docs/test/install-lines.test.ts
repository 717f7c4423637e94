import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A reader copies a guide's `npm install …` line(s), then the example the
// guide includes (`<!-- include: … -->`); every package that example imports must
// be in those lines, or it fails with ERR_MODULE_NOT_FOUND.
const guides = fileURLToPath(new URL('../guides/', import.meta.url));

/** Packages that come with another one the install line names (as guide 1 says). */
const INSIDE: Readonly<Record<string, string>> = {
  '@tensorflow/tfjs-core': '@tensorflow/tfjs',
  '@tensorflow/tfjs-layers': '@tensorflow/tfjs',
};

/** The package of a bare specifier (`@scope/name/sub` → `@scope/name`); undefined for relative and built-in ones. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? undefined : name;
}

/** The packages a TypeScript file imports (`import … from`, `import '…'`, `import type`, `export … from`, `import()`). */
function importedPackages(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specifiers = [
    ...code.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/gm),
    ...code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]);
  return [...new Set(specifiers.map(packageOf).filter((p): p is string => p !== undefined))];
}

/** The packages of every `npm install …` line of a markdown text (flags and version ranges dropped). */
function installedPackages(markdown: string): string[] {
  return [...markdown.matchAll(/npm (?:install|i) ([^\n`;#]+)/g)].flatMap((m) =>
    m[1]
      .trim()
      .split(/\s+/)
      .filter((word) => !word.startsWith('-'))
      .map((word) => word.replace(/(.)@.*$/, '$1')),
  );
}

/** The examples a guide includes (`<!-- include: ../examples/x.ts -->` above their code). */
const included = (markdown: string) =>
  [...markdown.matchAll(/<!-- include: (\S+\.ts) -->/g)].map((m) => m[1]);

const pages = readdirSync(guides)
  .filter((f) => f.endsWith('.md'))
  .map((f) => ({ file: f, markdown: readFileSync(new URL(f, `file://${guides}`), 'utf8') }))
  .filter((g) => included(g.markdown).length > 0);

describe("the guides' install lines", () => {
  it('parses imports and install lines', () => {
    expect(
      importedPackages(
        `import * as tf from '@tensorflow/tfjs-core';\nimport '@tensorflow/tfjs-backend-wasm'; // or '@tensorflow/tfjs-node'\nimport type { A } from '@convnets/layers/x';\nimport { join } from 'node:path';\nimport { readFile } from 'fs';\nimport { b } from './b';\n// import { c } from 'commented-out';`,
      ),
    ).toEqual(['@tensorflow/tfjs-core', '@convnets/layers', '@tensorflow/tfjs-backend-wasm']);
    expect(
      installedPackages(
        '```sh\nnpm install @convnets/resnet @tensorflow/tfjs@^4.22.0 sharp --save\n# x\nnpm i -D vitest\n```\n(`npm install @convnets/cli`; …)',
      ),
    ).toEqual(['@convnets/resnet', '@tensorflow/tfjs', 'sharp', 'vitest', '@convnets/cli']);
  });

  it('finds the guides that include examples', () => {
    expect(pages.map((g) => g.file)).toContain('01-getting-started.md');
  });

  for (const { file, markdown } of pages)
    it(`${file}: every package its examples import is installed by its npm install lines`, () => {
      const installed = new Set(installedPackages(markdown));
      const missing = included(markdown).flatMap((example) =>
        importedPackages(readFileSync(new URL(example, `file://${guides}`), 'utf8'))
          .filter((p) => !installed.has(p) && !installed.has(INSIDE[p] ?? p))
          .map((p) => `${example} imports ${p}`),
      );
      expect(missing).toEqual([]);
    });
});
