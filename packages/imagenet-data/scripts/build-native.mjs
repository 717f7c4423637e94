// Builds the JPEG fast path's addon (native/*.c: jpeg.c, its N-API glue;
// jpeg_read.c, readFile; jpeg_decode.c, the partial decode; resample.c,
// Pillow's filter) with libjpeg-turbo linked in statically, and writes the
// prebuilt binary that ships in the package
// (prebuilds/<platform>-<arch>/convnets_jpeg.node) with libjpeg-turbo's
// licence beside it. Run it after changing anything in native/:
//
//   LIBJPEG_TURBO_SRC=/path/to/libjpeg-turbo-2.1.5 npm run build:native -w @convnets/imagenet-data
//
// Needs cmake, nasm and a C compiler, and the libjpeg-turbo sources: the
// 2.1.5 release (github.com/libjpeg-turbo/libjpeg-turbo/releases), or on
// Debian 12 `apt-get source libjpeg-turbo` (with deb-src enabled), which is
// the same 2.1.5 that Debian's Pillow links. Nothing runs at install time:
// where no prebuilt binary loads, the loader decodes everything with sharp.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const addonSources = ['jpeg.c', 'jpeg_read.c', 'jpeg_decode.c', 'resample.c'];
const source = process.env.LIBJPEG_TURBO_SRC;
if (!source || !existsSync(join(source, 'jpeglib.h'))) {
  console.error('build-native: set LIBJPEG_TURBO_SRC to a libjpeg-turbo source tree (2.1.5).');
  process.exit(1);
}
const build = join(root, 'build', 'libjpeg-turbo');
mkdirSync(build, { recursive: true });
const run = (command, args, cwd = root) => execFileSync(command, args, { cwd, stdio: 'inherit' });

// A static, position-independent libjpeg with its SIMD code (nasm), decoder
// and encoder both (the library has no decoder-only build), no TurboJPEG API.
run(
  'cmake',
  [
    source,
    '-DCMAKE_BUILD_TYPE=Release',
    '-DENABLE_SHARED=OFF',
    '-DENABLE_STATIC=ON',
    '-DWITH_TURBOJPEG=OFF',
    '-DREQUIRE_SIMD=ON',
    '-DCMAKE_POSITION_INDEPENDENT_CODE=ON',
  ],
  build,
);
run('cmake', ['--build', '.', '--target', 'jpeg-static', '--parallel'], build);

const nodeInclude = join(dirname(process.execPath), '..', 'include', 'node');
const out = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
mkdirSync(out, { recursive: true });
const addon = join(out, 'convnets_jpeg.node');
run('cc', [
  '-O3',
  '-std=gnu11',
  '-Wall',
  '-Wextra',
  // normalize() must round exactly as the JavaScript it replaces: no fused multiply-adds.
  '-ffp-contract=off',
  '-fPIC',
  '-shared',
  '-fvisibility=hidden',
  // libjpeg's symbols stay inside the addon: no other libjpeg in the process
  // (libvips', a system one) can interpose on them or see them.
  '-Wl,--exclude-libs,ALL',
  '-Wl,-Bsymbolic',
  '-s',
  `-I${nodeInclude}`,
  `-I${build}`,
  `-I${source}`,
  ...addonSources.map((file) => join(root, 'native', file)),
  join(build, 'libjpeg.a'),
  '-lm',
  '-o',
  addon,
]);
// The addon must load wherever Node 20 runs: glibc 2.28 or later.
const symbols = execFileSync('objdump', ['-T', addon], { encoding: 'utf8' });
const newer = [...new Set(symbols.match(/GLIBC_[\d.]+/g) ?? [])].filter((v) => {
  const [major, minor] = v.slice(6).split('.').map(Number);
  return major > 2 || (major === 2 && minor > 28);
});
if (newer.length > 0) {
  console.error(`build-native: ${addon} needs ${newer.join(', ')}; Node 20 supports glibc 2.28.`);
  process.exit(1);
}
copyFileSync(join(source, 'LICENSE.md'), join(out, 'LIBJPEG-TURBO-LICENSE.md'));
copyFileSync(join(source, 'README.ijg'), join(out, 'LIBJPEG-TURBO-README.ijg'));
console.log(`build-native: wrote ${addon}`);
