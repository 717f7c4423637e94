// `npm run build:native:sanitize`: builds a debug addon with AddressSanitizer
// and UndefinedBehaviorSanitizer into build/sanitize/ (never shipped: the
// package's `files` leave build/ out) and prints how to load it.
//
//   node scripts/build-sanitized.mjs [--no-sanitize]
//
// --no-sanitize builds the same debug addon (symbols, -O1, assertions on)
// without the sanitizers, for gdb or perf on a crash. Either way it compiles
// the sources binding.gyp lists with the system g++ (or $CXX) directly, so a
// build takes one command and no node-gyp configuration.
//
// Run Node with the result through scripts/with-sanitizer.mjs, which sets
// CONVNETS_NATIVE_ADDON, LD_PRELOAD (the sanitizer runtimes must load before
// Node) and the ASAN_OPTIONS/UBSAN_OPTIONS that make any report fatal.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const sanitizedPath = join(packageRoot, 'build', 'sanitize', 'convnets_native.node');
export const debugPath = join(packageRoot, 'build', 'debug', 'convnets_native.node');

/** The compiler: $CXX, else g++ (whose libasan/libubsan with-sanitizer.mjs preloads). */
export const compiler = process.env.CXX || 'g++';

/** The directory holding node_api.h for the running Node. */
function nodeIncludes() {
  const candidates = [
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
    join(dirname(process.execPath), '..', 'include', 'node'),
  ].filter(Boolean);
  for (const dir of candidates) {
    const probe = spawnSync('test', ['-f', join(dir, 'node_api.h')]);
    if (probe.status === 0) return dir;
  }
  throw new Error(
    `node_api.h was not found in ${candidates.join(' or ')}; set npm_config_nodedir to a Node source or headers directory`,
  );
}

/** The C++ sources of the addon, as binding.gyp lists them. */
function sources() {
  const gyp = JSON.parse(readFileSync(join(packageRoot, 'binding.gyp'), 'utf8'));
  return gyp.targets[0].sources.map((s) => join(packageRoot, s));
}

/** Compiles the addon; returns the path written. Throws when the compiler fails. */
export function buildDebugAddon({ sanitize = true } = {}) {
  const out = sanitize ? sanitizedPath : debugPath;
  mkdirSync(dirname(out), { recursive: true });
  const flags = [
    '-shared',
    '-fPIC',
    '-std=c++17',
    '-g',
    '-O1',
    '-fno-omit-frame-pointer',
    '-ffp-contract=fast',
    '-fno-math-errno',
    '-DNAPI_VERSION=8',
    '-DNODE_GYP_MODULE_NAME=convnets_native',
    `-I${nodeIncludes()}`,
    ...(sanitize
      ? [
          '-fsanitize=address,undefined',
          '-fno-sanitize-recover=undefined',
          '-fsanitize-address-use-after-scope',
        ]
      : []),
  ];
  const result = spawnSync(compiler, [...flags, ...sources(), '-o', out], {
    cwd: packageRoot,
    stdio: 'inherit',
  });
  if (result.error) throw new Error(`${compiler} could not run: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`${compiler} failed (exit ${result.status}) building ${out}`);
  return out;
}

function main() {
  const sanitize = !process.argv.includes('--no-sanitize');
  const out = buildDebugAddon({ sanitize });
  console.log(`@convnets/backend-native: wrote ${out}`);
  if (sanitize)
    console.log(
      `Run a command with it: node scripts/with-sanitizer.mjs <command...> (e.g. npx vitest run test/differential.test.ts)`,
    );
  else console.log(`Load it with CONVNETS_NATIVE_ADDON=${out}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main();
  } catch (e) {
    console.error(`@convnets/backend-native: ${e.message}`);
    process.exit(1);
  }
}
