// Install step: keeps the prebuilt addon when it loads on this machine, and
// otherwise compiles it from source with node-gyp into build/Release. It never
// fails the install: without an addon the package reports why at runtime and
// tfjs stays on its other backends.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const addonFile = 'convnets_native.node';
export const prebuiltPath = join(
  packageRoot,
  'prebuilds',
  `${process.platform}-${process.arch}`,
  addonFile,
);
export const sourceBuildPath = join(packageRoot, 'build', 'Release', addonFile);

/** Whether the addon at `path` loads and answers in a fresh Node process. */
export function loads(path) {
  if (!existsSync(path)) return false;
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path)}).info()`], {
    stdio: 'ignore',
  });
  return probe.status === 0;
}

/** node-gyp as npm ships it, unless the environment names another. */
function nodeGyp() {
  if (process.env.npm_config_node_gyp) return [process.execPath, process.env.npm_config_node_gyp];
  const bundled = join(
    dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  );
  if (existsSync(bundled)) return [process.execPath, bundled];
  return ['node-gyp'];
}

/** Runs `node-gyp rebuild` in the package; returns whether it succeeded. */
export function buildFromSource() {
  const [command, ...args] = nodeGyp();
  args.push('rebuild');
  // Use the headers of the running Node when they are installed next to it, so
  // that no download is needed (machines without internet access at install time).
  const prefix = join(dirname(process.execPath), '..');
  if (
    !process.env.npm_config_nodedir &&
    existsSync(join(prefix, 'include', 'node', 'node_api.h'))
  ) {
    args.push(`--nodedir=${prefix}`);
  }
  const result = spawnSync(command, args, { cwd: packageRoot, stdio: 'inherit' });
  return result.status === 0;
}

function main() {
  if (loads(prebuiltPath) || loads(sourceBuildPath)) return;
  console.log(
    '@convnets/backend-native: no prebuilt addon for this machine; building from source.',
  );
  if (buildFromSource() && loads(sourceBuildPath)) return;
  console.warn(
    '@convnets/backend-native: the native addon could not be built; the backend will not register and tfjs will use its other backends.',
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
