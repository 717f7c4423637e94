import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The package READMEs are npm's front pages (and the root README the
// repository's); their examples cannot be included from files, so each one is
// type-checked here against the packages'
// published types (dist/*.d.ts, built before the docs tests run).
const docs = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const readmes = [
  'layers',
  'vgg',
  'resnet',
  'hub',
  'trainer',
  'cli',
  'imagenet-data',
  'backend-native',
].map((name) => ({
  name,
  path: fileURLToPath(new URL(`../../packages/${name}/README.md`, import.meta.url)),
}));

function examples(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

function typeErrors(sources: Map<string, string>): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(docs, 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  )!;
  const options = { ...config.options, noUnusedLocals: false };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (file, language, ...rest) =>
    sources.has(file)
      ? ts.createSourceFile(file, sources.get(file)!, language)
      : getSourceFile(file, language, ...rest);
  host.fileExists = (file) => sources.has(file) || ts.sys.fileExists(file);
  const program = ts.createProgram([...sources.keys()], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
}

describe('package READMEs', () => {
  it('each has TypeScript examples, and every one compiles against the current API', () => {
    const sources = new Map<string, string>();
    for (const { name, path } of readmes) {
      const blocks = examples(readFileSync(path, 'utf8'));
      expect(blocks.length, `${name}/README.md's TypeScript examples`).toBeGreaterThan(0);
      // Virtual files inside docs/, so that imports resolve as the examples' do;
      // one per block, as each is a module of its own.
      blocks.forEach((block, i) => sources.set(join(docs, `readme-${name}-${i + 1}.ts`), block));
    }
    // The repository's front page: its first example is the packages' too.
    const root = examples(readFileSync(join(docs, '..', 'README.md'), 'utf8'));
    expect(root.length, "the root README's TypeScript examples").toBeGreaterThan(0);
    root.forEach((block, i) => sources.set(join(docs, `readme-root-${i + 1}.ts`), block));
    expect(typeErrors(sources)).toEqual([]);
  });

  it('each has an install line and names its API section', () => {
    for (const { name, path } of readmes) {
      const text = readFileSync(path, 'utf8');
      expect(text).toContain(`npm install @convnets/${name}`);
      expect(text).toContain(`docs/site/modules/_convnets_${name}.html`);
    }
  });
});
