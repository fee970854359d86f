// Meson's node-modules target: `npm ci` here when node_modules is missing
// or older than package-lock.json, then touch the stamp file given.
// `npm ci` fetches tarballs by the lockfile's URLs and leaves npm's cache
// without the packages' metadata, which an install of the packed package
// into another project needs (tests/node/package.test.mjs installs it
// offline); `npm cache add` of the runtime dependencies at their locked
// versions puts it there.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
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
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  const runtime = Object.entries(lock.packages)
    .filter(([path, pkg]) => path && !pkg.dev)
    .map(([path, pkg]) => `${path.replace(/^.*node_modules\//, '')}@${pkg.version}`);
  if (runtime.length > 0)
    execFileSync('npm', ['cache', 'add', ...runtime, '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
}
writeFileSync(stamp, '');
