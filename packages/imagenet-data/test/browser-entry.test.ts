import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import * as browser from '../src/browser';
import * as main from '../src';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * The modules a bundler keeps from `entry`: every import and re-export that
 * is not type-only (TypeScript erases those), followed through relative
 * paths; bare specifiers are collected, not followed.
 */
function runtimeGraph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
    for (const node of source.statements) {
      const specifier = runtimeSpecifier(node);
      if (specifier === undefined) continue;
      if (specifier.startsWith('.')) visit(join(dirname(file), `${specifier}.ts`));
      else packages.add(specifier);
    }
  };
  visit(join(SRC, entry));
  return { files: [...files].map((f) => relative(SRC, f)).sort(), packages: [...packages].sort() };
}

/** The module a statement loads at run time, or undefined (not an import, or type-only). */
function runtimeSpecifier(node: ts.Statement): string | undefined {
  if (ts.isImportDeclaration(node)) {
    const clause = node.importClause;
    const named = clause?.namedBindings;
    const typeOnly =
      clause?.isTypeOnly ||
      (clause &&
        !clause.name &&
        named &&
        ts.isNamedImports(named) &&
        named.elements.every((e) => e.isTypeOnly));
    return typeOnly ? undefined : (node.moduleSpecifier as ts.StringLiteral).text;
  }
  if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
    const named = node.exportClause;
    const typeOnly =
      node.isTypeOnly ||
      (named && ts.isNamedExports(named) && named.elements.every((e) => e.isTypeOnly));
    return typeOnly ? undefined : (node.moduleSpecifier as ts.StringLiteral).text;
  }
  return undefined;
}

describe('@convnets/imagenet-data/browser', () => {
  it('loads no Node module and no sharp: its only packages are tfjs-core and the bundled validate', () => {
    const { files, packages } = runtimeGraph('browser.ts');
    expect(packages).toEqual(['@convnets/validate', '@tensorflow/tfjs-core']);
    expect(files).toContain('resample.ts');
    for (const nodeOnly of ['decode.ts', 'addon.ts', 'sharp-view.ts', 'pipeline.ts', 'loader.ts'])
      expect(files).not.toContain(nodeOnly);
    const validate = runtimeGraph('../../validate/src/index.ts');
    expect(validate.packages).toEqual([]);
  });

  it('is a part of the main entry: the same functions, not copies', () => {
    for (const [name, value] of Object.entries(browser)) {
      expect([name, (main as Record<string, unknown>)[name]]).toEqual([name, value]);
    }
    expect(Object.keys(browser)).toEqual(expect.arrayContaining(['preprocess', 'torchvisionEval']));
  });

  it("is what the package's exports map serves at ./browser", () => {
    const pkg = JSON.parse(readFileSync(join(SRC, '../package.json'), 'utf8'));
    expect(pkg.exports['./browser']).toEqual({
      import: { types: './dist/browser.d.ts', default: './dist/browser.js' },
      require: { types: './dist/browser.d.cts', default: './dist/browser.cjs' },
    });
  });
});
