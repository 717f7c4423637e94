// CONVNETS_NATIVE_ADDON (issue #13, item 14): a path set explicitly must load
// or be an error that names it; it used to fall back to the prebuilt addon.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { outputs, runChild } from './child';

const probe = `
  const ok = await native.register();
  out({ ok, error: native.loadError() ?? null, path: native.nativeInfo()?.path ?? null });`;

describe('CONVNETS_NATIVE_ADDON', () => {
  it('naming a file that does not exist: no backend, and an error naming the path', () => {
    const r = runChild(probe, { CONVNETS_NATIVE_ADDON: '/nonexistent/convnets_native.node' });
    expect(r.status, r.summary).toBe(0);
    const [result] = outputs(r) as { ok: boolean; error: string | null; path: string | null }[];
    expect(result.ok).toBe(false);
    expect(result.path).toBeNull();
    expect(result.error).toContain(
      'CONVNETS_NATIVE_ADDON=/nonexistent/convnets_native.node (the addon this variable names): not found',
    );
    expect(result.error).toContain('unset CONVNETS_NATIVE_ADDON to use the prebuilt addon');
    // Said once on stderr as well, not left for the caller to ask.
    expect(r.stderr).toContain('CONVNETS_NATIVE_ADDON=/nonexistent/convnets_native.node');
  });

  it('naming a file that is not an addon: the loader error, with the path', () => {
    const notAnAddon = fileURLToPath(new URL('../package.json', import.meta.url));
    const r = runChild(probe, { CONVNETS_NATIVE_ADDON: notAnAddon });
    expect(r.status, r.summary).toBe(0);
    const [result] = outputs(r) as { ok: boolean; error: string | null }[];
    expect(result.ok).toBe(false);
    expect(result.error).toContain(`CONVNETS_NATIVE_ADDON=${notAnAddon}`);
  });

  it('naming the prebuilt addon loads it; unset, the prebuilt addon loads', () => {
    const prebuilt = fileURLToPath(
      new URL('../prebuilds/linux-x64/convnets_native.node', import.meta.url),
    );
    const set = outputs(runChild(probe, { CONVNETS_NATIVE_ADDON: prebuilt }))[0];
    expect(set).toEqual({ ok: true, error: null, path: prebuilt });
    const unset = outputs(runChild(probe, { CONVNETS_NATIVE_ADDON: undefined }))[0];
    expect(unset).toMatchObject({ ok: true, error: null });
  });
});
