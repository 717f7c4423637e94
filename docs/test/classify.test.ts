import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CIFAR10_CLASSES } from '@convnets/imagenet-data';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The classify page (turbo runs `docs`, which builds it, before this test) in
// headless Debian Chromium: its top-5 for a real photo is what the convnets
// command computes in Node for the same model and photo.
const site = fileURLToPath(new URL('../site/', import.meta.url));
const shots = fileURLToPath(new URL('../site-screenshots/', import.meta.url));
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const photo = fileURLToPath(
  new URL('../../packages/imagenet-data/test/fixtures/cifar10-jpeg/cat-0000.jpg', import.meta.url),
);
const CLASSES = CIFAR10_CLASSES.join(',');
const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** Serves `site/` over http on a free port: fetch() of model files needs http, not file://. */
function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(join(site, decodeURIComponent(new URL(req.url!, 'http://x').pathname)));
    if (!path.startsWith(site) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
    res.end(readFileSync(path));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface Row {
  name: string;
  probability: number;
}

/** `convnets predict --json` on the weights the page's model was exported from. */
function nodeTop5(): Row[] {
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve('@convnets/cli/package.json')), 'bin', 'convnets.js');
  const args = ['predict', '--arch', 'cifar_resnet8', '--classes', CLASSES, '--json'];
  args.push('--weights', join(site, 'classify', 'tiny-cifar-resnet8.safetensors'), photo);
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`convnets ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout)[0].top.map((t: Row) => ({
    name: t.name,
    probability: t.probability,
  }));
}

describe.skipIf(!existsSync(executablePath) && !process.env.CI)(
  'the classify page in headless Chromium',
  () => {
    let browser: Browser;
    let server: Server;
    beforeAll(async () => {
      mkdirSync(shots, { recursive: true });
      server = await serve();
      browser = await chromium.launch({
        executablePath,
        // WebGPU and WebGL on SwiftShader, where this Chromium has it (Debian's does).
        args: [
          '--no-sandbox',
          '--disable-background-networking',
          '--no-first-run',
          '--enable-unsafe-webgpu',
          '--enable-features=Vulkan',
          '--use-webgpu-adapter=swiftshader',
          '--use-angle=swiftshader',
        ],
      });
    });
    afterAll(async () => {
      await browser?.close();
      server?.close();
    });

    let want: Row[];
    // The backend the page picks (webgpu → webgl → wasm → cpu), then webgl and wasm by name.
    it.each(['auto', 'webgl', 'wasm'])(
      "the page's top-5 for a photo equals the convnets command's in Node (backend %s)",
      async (choice) => {
        const forced = choice === 'auto' ? '' : choice;
        want ??= nodeTop5();
        const page = await browser.newPage({ viewport: { width: 800, height: 720 } });
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        const { port } = server.address() as AddressInfo;
        await page.goto(
          `http://127.0.0.1:${port}/classify/index.html${forced ? `?backend=${forced}` : ''}`,
        );
        await page.waitForSelector('body[data-ready], body[data-error]', { timeout: 60_000 });
        expect(await page.locator('body').getAttribute('data-error')).toBeNull();
        await page.setInputFiles('#file', photo);
        await page.waitForFunction(() => document.querySelectorAll('#top5 li').length === 5);
        const got = await page.$$eval('#top5 li', (items) =>
          items.map((li) => ({
            name: (li as HTMLElement).dataset.name!,
            probability: Number((li as HTMLElement).dataset.probability),
          })),
        );
        const backend = await page.locator('body').getAttribute('data-backend');
        const diff = Math.max(
          ...got.map((r, i) => Math.abs(r.probability - (want[i]?.probability ?? 1))),
        );
        console.log(
          `classify page on ${backend}: top-5 ${got.map((r) => r.name).join(', ')}; largest difference ${diff.toExponential(1)}`,
        );
        await page.screenshot({ path: join(shots, `classify${forced ? `-${forced}` : ''}.png`) });
        if (forced) expect(backend).toBe(forced);
        expect(got.map((r) => r.name)).toEqual(want.map((r) => r.name));
        got.forEach((r, i) =>
          expect(Math.abs(r.probability - want[i].probability)).toBeLessThan(1e-3),
        );
        expect(errors).toEqual([]);
        await page.close();
      },
    );
  },
);
