// Prints FILE::NAME for every wsbTest('NAME', …) case in DIR/*.test.mjs.
// Meson runs this at configure time to register one test per case.
import { readdirSync, readFileSync } from 'node:fs';

const dir = process.argv[2];
const seen = new Map();
for (const file of readdirSync(dir).filter((f) => f.endsWith('.test.mjs')).sort()) {
  for (const [, name] of readFileSync(`${dir}/${file}`, 'utf8').matchAll(/^wsbTest\('([a-z0-9_]+)'/gm)) {
    if (seen.has(name)) {
      console.error(`${file}: ${name} also in ${seen.get(name)}; Meson test names must be unique`);
      process.exit(1);
    }
    seen.set(name, file);
    console.log(`${file}::${name}`);
  }
}
