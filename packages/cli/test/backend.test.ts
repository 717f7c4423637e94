import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CUDA_LIBRARIES, cudaLibraryDirectories, missingCudaLibraries } from '../src';
import { tempDir } from './helpers';

const root = tempDir('convnets-cuda-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A folder holding empty files with these names (what the check looks for). */
function fakeLibDir(name: string, files: readonly string[]): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f), '');
  return dir;
}

describe('the CUDA/cuDNN library check of tfjs-node-gpu', () => {
  it('names exactly the libraries absent from every searched folder', () => {
    const cuda = fakeLibDir('cuda', [
      'libcudart.so.11.0',
      'libcublas.so.11',
      'libcublasLt.so.11',
      'libcudart.so.12', // another CUDA's runtime does not count
    ]);
    const cudnn = fakeLibDir('cudnn', ['libcudnn.so.8.1.0', 'libcusparse.so.11']);
    expect(missingCudaLibraries({ directories: [cuda, cudnn], platform: 'linux' })).toEqual([
      'libcufft.so.10',
      'libcurand.so.10',
      'libcusolver.so.11',
      'libcudnn.so.8',
    ]);
    const rest = fakeLibDir('rest', [
      'libcufft.so.10',
      'libcurand.so.10',
      'libcusolver.so.11',
      'libcudnn.so.8',
    ]);
    expect(
      missingCudaLibraries({
        directories: [join(root, 'absent'), cuda, cudnn, rest],
        platform: 'linux',
      }),
    ).toEqual([]);
    // No tfjs-node-gpu build outside Linux.
    expect(missingCudaLibraries({ directories: [cuda, cudnn, rest], platform: 'darwin' })).toEqual(
      CUDA_LIBRARIES,
    );
  });

  it("searches LD_LIBRARY_PATH, then ld.so.conf's folders and includes, then the system folders", () => {
    const a = fakeLibDir('a', ['libcudart.so.11.0']);
    const b = fakeLibDir('b', ['libcudnn.so.8']);
    const c = fakeLibDir('c', ['libcufft.so.10', 'libcurand.so.10']);
    const confD = join(root, 'ld.so.conf.d');
    mkdirSync(confD, { recursive: true });
    writeFileSync(join(confD, 'cuda.conf'), `# CUDA\n${c}\n`);
    writeFileSync(join(confD, 'ignored.txt'), '/not/included\n');
    const conf = join(root, 'ld.so.conf');
    writeFileSync(conf, `include ld.so.conf.d/*.conf\n${b}   # cuDNN\n`);
    const dirs = cudaLibraryDirectories({ env: { LD_LIBRARY_PATH: `${a}::${a}` }, ldSoConf: conf });
    expect(dirs.slice(0, 3)).toEqual([a, c, b]);
    expect(dirs).toContain('/usr/lib');
    expect(dirs).not.toContain('/not/included');
    expect(missingCudaLibraries({ directories: [a, b, c], platform: 'linux' })).toEqual([
      'libcublas.so.11',
      'libcublasLt.so.11',
      'libcusolver.so.11',
      'libcusparse.so.11',
    ]);
    // A missing configuration file is no configuration.
    expect(cudaLibraryDirectories({ env: {}, ldSoConf: join(root, 'none.conf') })[0]).toBe(
      '/lib/x86_64-linux-gnu',
    );
  });
});
