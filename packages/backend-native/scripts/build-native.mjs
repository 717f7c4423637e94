// Rebuilds the addon from source and refreshes the prebuilt binary that ships
// in the package (prebuilds/<platform>-<arch>/). Run it after changing native/.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildFromSource, loads, prebuiltPath, sourceBuildPath } from './install.mjs';

if (!buildFromSource() || !loads(sourceBuildPath)) {
  console.error('@convnets/backend-native: the source build failed.');
  process.exit(1);
}
mkdirSync(dirname(prebuiltPath), { recursive: true });
copyFileSync(sourceBuildPath, prebuiltPath);
console.log(`@convnets/backend-native: wrote ${prebuiltPath}`);
