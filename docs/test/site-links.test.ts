import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

// Walks the built site (turbo runs `docs` before `test:site`) and fails on any
// relative link that does not lead to a file of the site: every href and src
// of every HTML page, the targets of `#fragment`s, and the sidebar, which the
// pages' script draws from assets/navigation.js. Links to other sites
// (http(s), mailto) are not followed.
const site = fileURLToPath(new URL('../site/', import.meta.url));

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return htmlFiles(path);
    return entry.name.endsWith('.html') ? [path] : [];
  });
}

const ids = new Map<string, Set<string>>();
/** The ids (and a names) of a page: what a `#fragment` may point at. */
function anchors(page: string): Set<string> {
  let set = ids.get(page);
  if (!set) {
    const html = readFileSync(page, 'utf8');
    set = new Set([...html.matchAll(/\s(?:id|name)="([^"]*)"/g)].map((m) => m[1]));
    ids.set(page, set);
  }
  return set;
}

const isFile = (path: string) => existsSync(path) && statSync(path).isFile();

/** Why `link` on `page` does not resolve, or undefined if it does. */
export function brokenLink(page: string, link: string): string | undefined {
  if (/^(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(link)) {
    // Another site (checked by no one here), or a scheme the site must not use.
    return /^(?:https?|mailto|data):/i.test(link) ? undefined : 'unexpected scheme';
  }
  if (link.startsWith('/')) return 'absolute path: breaks when the site is not at the root';
  const [pathAndQuery, fragment] = link.split('#', 2) as [string, string | undefined];
  const path = decodeURIComponent(pathAndQuery.split('?')[0]);
  const target = path === '' ? page : resolve(dirname(page), path);
  if (!target.startsWith(site)) return 'outside the site';
  if (!isFile(target)) return 'no such file';
  if (fragment && target.endsWith('.html') && !anchors(target).has(decodeURIComponent(fragment))) {
    return `no id "${fragment}" in ${relative(site, target)}`;
  }
  return undefined;
}

describe.skipIf(!existsSync(site) && !process.env.CI)('links of the built site', () => {
  const pages = existsSync(site) ? htmlFiles(site) : [];

  it('every relative href and src of every page leads to a file (and fragment) of the site', () => {
    expect(pages.length).toBeGreaterThan(100);
    const broken: string[] = [];
    let checked = 0;
    for (const page of pages) {
      const html = readFileSync(page, 'utf8');
      for (const [, link] of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
        checked++;
        const why = brokenLink(page, link.replaceAll('&amp;', '&'));
        if (why) broken.push(`${relative(site, page)}: ${link} (${why})`);
      }
    }
    expect(checked).toBeGreaterThan(pages.length);
    expect(broken).toEqual([]);
  });

  it('every page, at any depth, links to the guides in its header', () => {
    // TypeDoc's pages; the classify page (scripts/browser-page.mjs) has a header of its own.
    const nested = pages.filter(
      (p) => relative(site, p).includes('/') && !relative(site, p).startsWith('classify/'),
    );
    expect(nested.length).toBeGreaterThan(0);
    for (const page of [join(site, 'index.html'), ...nested]) {
      const header = readFileSync(page, 'utf8').match(
        /<div id="tsd-toolbar-links">([\s\S]*?)<\/div>/,
      )?.[1];
      const guides = header?.match(/<a href="([^"]*)"[^>]*>Guides<\/a>/)?.[1];
      expect(guides, relative(site, page)).toBeDefined();
      expect(brokenLink(page, guides!), `${relative(site, page)}: ${guides}`).toBeUndefined();
    }
  });

  it('the sidebar (assets/navigation.js) lists the guides and packages, each an existing page', () => {
    const script = readFileSync(join(site, 'assets', 'navigation.js'), 'utf8');
    const data = script.match(/window\.navigationData = "([^"]+)"/)![1];
    type Node = { text: string; path?: string; children?: Node[] };
    const tree = JSON.parse(inflateSync(Buffer.from(data, 'base64')).toString()) as Node[];
    const nodes: Node[] = [];
    const walk = (list: Node[]) =>
      list.forEach((n) => (nodes.push(n), n.children && walk(n.children)));
    walk(tree);
    const missing = nodes
      .filter((n) => n.path !== undefined)
      .filter((n) => brokenLink(join(site, 'index.html'), n.path!) !== undefined)
      .map((n) => `${n.text}: ${n.path}`);
    expect(missing).toEqual([]);
    const texts = nodes.map((n) => n.text).join('\n');
    expect(texts).toContain('1. Getting started');
    expect(texts).toContain('8. CIFAR-10 results');
    expect(texts).toContain('@convnets/resnet');
  });

  it("each package's README (install line, first example) is its module page", () => {
    const modules = readdirSync(join(site, 'modules'));
    expect(modules).toHaveLength(8);
    for (const page of modules) {
      const name = page.replace(/^_convnets_/, '@convnets/').replace(/\.html$/, '');
      const text = readFileSync(join(site, 'modules', page), 'utf8').replace(/<[^>]+>/g, '');
      expect(text, page).toContain(`npm install ${name}`);
    }
  });
});
