// npm pack's prepack/postpack: the package ships a copy of the one schema,
// ../../proto/wsbridge.proto, as proto/wsbridge.proto; the tree never keeps it.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const original = fileURLToPath(new URL('../../../proto/wsbridge.proto', import.meta.url));
const dir = fileURLToPath(new URL('../proto/', import.meta.url));
if (process.argv[2] === '--remove') {
  rmSync(dir, { recursive: true, force: true });
} else {
  mkdirSync(dir, { recursive: true });
  copyFileSync(original, `${dir}wsbridge.proto`);
}
