// Meson's node-modules target: `npm ci` here when node_modules is missing
// or older than package-lock.json, then touch the stamp file given.
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, stamp] = process.argv.slice(2);
const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
};
// npm writes node_modules/.package-lock.json at every install.
if (mtime(join(dir, 'node_modules', '.package-lock.json')) < mtime(join(dir, 'package-lock.json'))) {
  console.log(`npm ci in ${dir}`);
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
}
writeFileSync(stamp, '');
