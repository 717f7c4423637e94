import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Opens the built site (turbo runs `docs` before this test) in headless
// Debian Chromium and checks what a reader sees. .ci/run installs Chromium.
const site = new URL('../site/', import.meta.url);
const shots = fileURLToPath(new URL('../site-screenshots/', import.meta.url));
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe.skipIf(!existsSync(executablePath) && !process.env.CI)(
  'the documentation site in headless Chromium',
  () => {
    let browser: Browser;
    beforeAll(async () => {
      mkdirSync(shots, { recursive: true });
      browser = await chromium.launch({
        executablePath,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      });
    });
    afterAll(async () => browser?.close());

    async function open(path: string, screenshot: string) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(pathToFileURL(fileURLToPath(new URL(path, site))).href);
      // The sidebar is filled in by the page's script.
      await page.waitForSelector('#tsd-nav-container li', { state: 'attached', timeout: 10_000 });
      await page.screenshot({ path: `${shots}/${screenshot}`, fullPage: false });
      return page;
    }

    it('landing page: navigation to every package and guide, and the introduction', async () => {
      const page = await open('index.html', 'landing.png');
      const nav = await page.locator('#tsd-nav-container').allTextContents();
      for (const name of [
        '@convnets/layers',
        '@convnets/resnet',
        '@convnets/vgg',
        '@convnets/imagenet-data',
        '1. Getting started',
        '3. The model zoo',
      ]) {
        expect(nav.join('\n')).toContain(name);
      }
      expect(await page.locator('.col-content').innerText()).toContain(
        'numerically identical to torchvision',
      );
      await page.close();
    });

    it('a package page shows its API with documentation', async () => {
      const page = await open('modules/_convnets_resnet.html', 'resnet.png');
      const text = await page.locator('.col-content').innerText();
      expect(text).toContain('resnet50');
      expect(text).toContain('loadWeights');
      await page.close();
      const fn = await open('functions/_convnets_layers.bottleneckBlock.html', 'bottleneck.png');
      expect(await fn.locator('.col-content').innerText()).toMatch(
        /bottleneck block of ResNet-50\/101\/152/,
      );
      await fn.close();
    });

    it('the model zoo guide shows numbers computed at build time', async () => {
      const page = await open('documents/3._The_model_zoo.html', 'model-zoo.png');
      const text = await page.locator('.col-content').innerText();
      expect(text).toContain('25,557,032'); // resnet50, as torchvision counts it (NUMBERS.md)
      expect(text).toContain('138,357,544'); // vgg16
      await page.close();
    });
  },
);
