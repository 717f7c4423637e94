// The guides are written for two readers: GitHub, which shows docs/index.md and
// docs/guides/*.md as they are committed, and TypeDoc, which builds the site.
//
// 1. Examples. A code block that follows `<!-- include: PATH -->` holds the file
//    at PATH (relative to the guide), verbatim: the examples are run by the
//    docs' tests, and the guides show them. `--write` copies each file into its
//    block; `--check` fails if one differs (the docs build and
//    test/guides.test.ts check).
// 2. API links. A link to a source file of a package,
//    [`resnet50`](../../packages/resnet/src/resnet.ts), goes to the source on
//    GitHub and to the API page on the site: the site's copy of the guide says
//    {@linkcode "@convnets/resnet"!resnet50 | resnet50}. The symbol is the
//    link's title if it has one ([`fit`](../../packages/trainer/src/loop.ts
//    "Trainer#fit")), else its code text without `()`. A link to a package's
//    README.md or src/index.ts goes to the package's page. TypeDoc fails the
//    build on a symbol it cannot find.
//
// The site's copies go to docs/site-src/ (git-ignored), with every other
// relative link rewritten to lead where the original's did.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checking, writeOrCheck } from './write-or-check.mjs';

const docs = fileURLToPath(new URL('..', import.meta.url));
const repo = resolve(docs, '..');
const out = join(docs, 'site-src');
const sources = [
  join(docs, 'index.md'),
  ...readdirSync(join(docs, 'guides'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join(docs, 'guides', f)),
];
/** Where the site's copy of a source goes. */
const copyOf = (source) => join(out, relative(docs, source));

const LANGUAGES = { '.ts': 'ts', '.mjs': 'js', '.js': 'js', '.py': 'python', '.sh': 'sh' };
const INCLUDE = /(<!-- include: (\S+) -->\n\n)(`{3,})[^\n]*\n(?:[\s\S]*?\n)??\3\n/g;

/** The guide with each included file's current text in its block. */
export function withExamples(source, text) {
  return text.replace(INCLUDE, (_, marker, path) => {
    const code = readFileSync(resolve(dirname(source), path), 'utf8').replace(/\n$/, '');
    const language = LANGUAGES[path.slice(path.lastIndexOf('.'))] ?? '';
    const fence = code.includes('```') ? '````' : '```';
    return `${marker}${fence}${language}\n${code}\n${fence}\n`;
  });
}

const packageNames = new Map(
  readdirSync(join(repo, 'packages'))
    .filter((dir) => existsSync(join(repo, 'packages', dir, 'package.json')))
    .map((dir) => [
      dir,
      JSON.parse(readFileSync(join(repo, 'packages', dir, 'package.json'), 'utf8')).name,
    ]),
);

const LINK = /(!?)\[([^\]\n]*)\]\(([^)\s]+)(?: "([^"]*)"| '([^']*)')?\)/g;

/** The site's copy of a guide: API links as {@linkcode}, relative links re-based. */
function forSite(source, text) {
  const problems = [];
  // Links outside fenced code blocks (the odd parts of the split).
  const parts = text.split(/(\n`{3,}[^\n]*\n[\s\S]*?\n`{3,}(?=\n))/);
  const prose = (part) =>
    part.replace(LINK, (all, bang, label, target, doubleQuoted, singleQuoted) => {
      const title = doubleQuoted ?? singleQuoted;
      if (/^(?:[a-z][a-z0-9+.-]*:|#)/i.test(target)) return all;
      const [path, fragment] = target.split('#', 2);
      const file = resolve(dirname(source), path);
      if (!existsSync(file)) problems.push(`${relative(docs, source)}: ${target} does not exist`);
      const api = relative(repo, file).match(
        /^packages\/([^/]+)\/(README\.md$|src\/index\.ts$|src\/)/,
      );
      const code = label.match(/^`([^`]+)`$/);
      if (!bang && api && (code || title || !api[2].endsWith('/'))) {
        const text = code ? code[1] : label;
        const symbol = api[2].endsWith('/') ? (title ?? text.replace(/\(\)$/, '')) : '';
        return `{@${code ? 'linkcode' : 'link'} "${packageNames.get(api[1])}"!${symbol} | ${text}}`;
      }
      const to = sources.includes(file) ? copyOf(file) : file;
      const rebased = relative(dirname(copyOf(source)), to) + (fragment ? `#${fragment}` : '');
      return `${bang}[${label}](${rebased}${title ? ` "${title}"` : ''})`;
    });
  const body = parts.map((part, i) => (i % 2 ? part : prose(part))).join('');
  if (problems.length) throw new Error(problems.join('\n'));
  return body;
}

// `--no-site`: only check (or write) the guides, for test/guides.test.ts,
// which may run while the docs build reads docs/site-src/.
const site = !process.argv.includes('--no-site');
if (site) rmSync(out, { recursive: true, force: true });
for (const source of sources) {
  const text = readFileSync(source, 'utf8');
  const current = withExamples(source, text);
  if (current !== text) writeOrCheck(source, current);
  if (!site) continue;
  mkdirSync(dirname(copyOf(source)), { recursive: true });
  writeFileSync(copyOf(source), forSite(source, checking ? text : current));
}
