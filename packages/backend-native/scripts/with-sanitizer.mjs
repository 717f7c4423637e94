// Runs a command with the ASan + UBSan addon (scripts/build-sanitized.mjs):
//
//   node scripts/with-sanitizer.mjs <command> [args...]
//
// sets CONVNETS_NATIVE_ADDON to build/sanitize/convnets_native.node, preloads
// g++'s libasan and libubsan (a sanitized library loaded into an unsanitized
// Node needs its runtime first in the process), and makes every report fatal:
// ASAN_OPTIONS without leak detection (Node itself does not free everything at
// exit) and UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1. Exits with the
// command's status; a sanitizer report exits non-zero (ASan 86, UBSan 87).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { compiler, sanitizedPath } from './build-sanitized.mjs';

/** The path g++ reports for a runtime library, or throws when it has none. */
function runtime(name) {
  const r = spawnSync(compiler, [`-print-file-name=${name}`], { encoding: 'utf8' });
  const path = (r.stdout ?? '').trim();
  if (r.status !== 0 || !path.startsWith('/') || !existsSync(path))
    throw new Error(
      `${compiler} does not know ${name} (got "${path}"); install the compiler's sanitizer runtimes`,
    );
  return path;
}

/** The environment that loads the sanitized addon into Node. */
export function sanitizerEnv(base = process.env) {
  if (!existsSync(sanitizedPath))
    throw new Error(`${sanitizedPath} does not exist; run npm run build:native:sanitize first`);
  const preload = [runtime('libasan.so'), runtime('libubsan.so')];
  return {
    ...base,
    CONVNETS_NATIVE_ADDON: sanitizedPath,
    LD_PRELOAD: [...preload, base.LD_PRELOAD].filter(Boolean).join(':'),
    ASAN_OPTIONS: [
      'detect_leaks=0',
      'abort_on_error=0',
      'halt_on_error=1',
      'exitcode=86',
      // Node installs its own SIGSEGV handler (for WebAssembly); keep ASan's,
      // so that a wild access reports where it happened.
      'allow_user_segv_handler=0',
      base.ASAN_OPTIONS,
    ]
      .filter(Boolean)
      .join(':'),
    UBSAN_OPTIONS: ['halt_on_error=1', 'print_stacktrace=1', 'exitcode=87', base.UBSAN_OPTIONS]
      .filter(Boolean)
      .join(':'),
  };
}

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/with-sanitizer.mjs <command> [args...]');
  process.exit(2);
}
let env;
try {
  env = sanitizerEnv();
} catch (e) {
  console.error(`@convnets/backend-native: ${e.message}`);
  process.exit(1);
}
const result = spawnSync(command, args, { stdio: 'inherit', env });
if (result.error) {
  console.error(`@convnets/backend-native: ${command} could not run: ${result.error.message}`);
  process.exit(1);
}
if (result.signal)
  console.error(`@convnets/backend-native: ${command} was killed by ${result.signal}`);
process.exit(result.status ?? 1);
