// The face's TypeScript declarations accept what ws's own (@types/ws)
// accept: typical ws client programs (ESM and CommonJS) check with both,
// only the import changed; and both refuse the same wrong uses.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CLIENT_DIR, wsbTest } from './harness.mjs';

const run = promisify(execFile);
const TSC = `${CLIENT_DIR}/node_modules/typescript/bin/tsc`;
const PROGRAMS = fileURLToPath(new URL('ts/', import.meta.url));

/** The program files, for ws (as written) and wsbridge (the import changed), under ROOT/FLAVOUR/. */
function programs(root, type) {
  const files = [];
  for (const flavour of ['ws', 'wsbridge']) {
    const dir = `${root}/${flavour}`;
    mkdirSync(`${dir}/node_modules/@types`, { recursive: true });
    writeFileSync(`${dir}/package.json`, JSON.stringify(type ? { type } : {}));
    if (flavour === 'ws') {
      symlinkSync(`${CLIENT_DIR}/node_modules/ws`, `${dir}/node_modules/ws`);
      symlinkSync(`${CLIENT_DIR}/node_modules/@types/ws`, `${dir}/node_modules/@types/ws`);
    } else {
      symlinkSync(CLIENT_DIR, `${dir}/node_modules/wsbridge`);
    }
    for (const name of readdirSync(PROGRAMS)) {
      let text = readFileSync(`${PROGRAMS}${name}`, 'utf8');
      if (flavour === 'wsbridge') {
        const changed = text.replace(/from 'ws';/, "from 'wsbridge/ws';").replace("require('ws')", "require('wsbridge/ws')");
        assert.notEqual(changed, text, name);
        text = changed;
      }
      writeFileSync(`${dir}/${name}`, text);
      files.push(`${dir}/${name}`);
    }
  }
  return files;
}

wsbTest('node_ws_typescript_accepts_what_ws_types_accept', async (h) => {
  // Node's resolution (ES modules), and the legacy one of CommonJS projects
  // (moduleResolution node10, esModuleInterop).
  const setups = {
    nodenext: { type: 'module', options: { module: 'nodenext', moduleResolution: 'nodenext' } },
    node10: { type: null, options: { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true } },
  };
  for (const [name, { type, options }] of Object.entries(setups)) {
    const root = `${h.info.tmp}/${name}`;
    const config = {
      compilerOptions: {
        strict: true, noEmit: true, target: 'es2022', lib: ['es2022', 'dom'], types: ['node'],
        typeRoots: [`${CLIENT_DIR}/node_modules/@types`], skipLibCheck: false, ...options,
      },
      files: programs(root, type),
    };
    writeFileSync(`${root}/tsconfig.json`, JSON.stringify(config));
    const r = await run(process.execPath, [TSC, '-p', `${root}/tsconfig.json`], { cwd: root, timeout: 240000 })
      .catch((e) => e);
    const errors = r.stdout.split('\n').filter((l) => / error TS/.test(l));
    const where = (flavour) => errors.filter((l) => l.startsWith(`${flavour}/`))
      .map((l) => l.slice(`${flavour}/`.length).replace(/: error (TS\d+).*/, ' $1'));
    const expected = [5, 6, 7, 8].map((line) => new RegExp(`^ws-client-wrong\\.ts\\(${line},\\d+\\) TS\\d+$`));
    for (const flavour of ['ws', 'wsbridge']) {
      const got = where(flavour);
      assert.equal(got.length, expected.length, `${name}, ${flavour}: tsc said:\n${r.stdout}${r.stderr}`);
      got.forEach((l, i) => assert.match(l, expected[i], `${name}, ${flavour}: tsc said:\n${r.stdout}`));
    }
    assert.equal(errors.length, 2 * expected.length, `${name}: tsc said:\n${r.stdout}${r.stderr}`);
  }
}, { timeout: 240000 });
