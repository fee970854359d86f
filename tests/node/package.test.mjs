// The package as users get it: `npm pack` makes a tarball that installs
// into an empty project (offline: the tarball and npm's cache) and works
// there; the TypeScript declarations check, and they name every export.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import * as wsbridge from '../../clients/node/src/index.js';
import { CLIENT_DIR, SOURCE_ROOT, feed, wsbTest } from './harness.mjs';

const run = promisify(execFile);
const TSC = `${CLIENT_DIR}/node_modules/typescript/bin/tsc`;

/** npm, quietly and offline (the registry is not needed once npm ci ran). */
function npm(args, cwd) {
  return run('npm', [...args, '--offline', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd, timeout: 120000, env: { ...process.env, npm_config_update_notifier: 'false' } });
}

wsbTest('node_npm_pack_installs_into_an_empty_project', async (h) => {
  // Pack a copy laid out as the tree is, so the tree itself is not written to.
  const tree = `${h.info.tmp}/tree`;
  mkdirSync(`${tree}/proto`, { recursive: true });
  cpSync(`${SOURCE_ROOT}proto/wsbridge.proto`, `${tree}/proto/wsbridge.proto`);
  cpSync(CLIENT_DIR, `${tree}/clients/node`, {
    recursive: true,
    filter: (src) => !src.startsWith(`${CLIENT_DIR}/node_modules`) && !src.startsWith(`${CLIENT_DIR}/proto`),
  });
  const { stdout } = await npm(['pack', '--pack-destination', h.info.tmp], `${tree}/clients/node`);
  const tarball = `${h.info.tmp}/${stdout.trim().split('\n').at(-1)}`;
  assert.match(tarball, /wsbridge-\d+\.\d+\.\d+\.tgz$/);
  assert.ok(!existsSync(`${tree}/clients/node/proto`), 'postpack removes the copy of the schema');

  const { stdout: listing } = await run('tar', ['-tzf', tarball]);
  const files = listing.trim().split('\n').sort();
  for (const f of ['package/package.json', 'package/index.d.ts', 'package/ws.d.ts', 'package/src/index.js',
    'package/src/ws-default.js', 'package/proto/wsbridge.proto',
    'package/index.d.cts', 'package/ws.d.cts', 'package/src/index.cjs', 'package/src/ws.cjs'])
    assert.ok(files.includes(f), `${f} in the tarball`);
  for (const f of files) assert.doesNotMatch(f, /node_modules|examples|scripts|tsconfig|\.tgz/);

  const project = `${h.info.tmp}/project`;
  mkdirSync(project);
  writeFileSync(`${project}/package.json`, JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await npm(['install', tarball], project);
  const installed = `${project}/node_modules/wsbridge`;
  assert.equal(readFileSync(`${installed}/proto/wsbridge.proto`, 'utf8'),
    readFileSync(`${SOURCE_ROOT}proto/wsbridge.proto`, 'utf8'));
  assert.ok(existsSync(`${project}/node_modules/protobufjs/package.json`));
  assert.deepEqual(readdirSync(`${project}/node_modules`).filter((f) => !f.startsWith('.')).sort(),
    ['long', 'protobufjs', 'wsbridge']);

  const { server, daemon } = await feed(h);
  writeFileSync(`${project}/app.mjs`, `
    import { createRequire } from 'node:module';
    import { connect } from 'wsbridge';
    import WebSocket from 'wsbridge/ws';
    const c = await connect(process.argv[2]);
    const sub = c.subscribe('feed');
    await new Promise((resolve) => sub.once('subscribed', resolve));
    const sent = await c.send('feed', 'from the project', { wait: true });
    const ws = new WebSocket('wsbridge://feed', { socket: process.argv[2] });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.close();
    await c.close();
    const require = createRequire(import.meta.url);
    console.log(JSON.stringify({ outcome: sent.outcome, from: require.resolve('wsbridge'),
      required: require('wsbridge/ws') === WebSocket }));
  `);
  const out = await run(process.execPath, [`${project}/app.mjs`, daemon.socket], { cwd: project });
  const result = JSON.parse(out.stdout);
  assert.equal(result.outcome, 'sent');
  assert.equal(result.from, `${installed}/src/index.cjs`); // require's entry point
  assert.equal(result.required, true, 'require and import give one class');
  assert.ok((await server.received()).includes('from the project'));
});

wsbTest('node_typescript_declarations', async (h) => {
  // One tsc run: the declarations, the typed example (as in
  // clients/node/tsconfig.json, `npm run typecheck`) and a wrong use, which
  // must be the only file with errors: they are real types.
  const dir = `${h.info.tmp}/typed`;
  mkdirSync(`${dir}/node_modules`, { recursive: true });
  symlinkSync(CLIENT_DIR, `${dir}/node_modules/wsbridge`);
  writeFileSync(`${dir}/package.json`, JSON.stringify({ type: 'module' }));
  writeFileSync(`${dir}/wrong.ts`, [
    "import { connect } from 'wsbridge';",
    'const c = await connect();',
    "await c.send('demo', 42);",
    "c.subscribe('demo').on('message', (m: number) => m);",
    '',
  ].join('\n'));
  const config = JSON.parse(readFileSync(`${CLIENT_DIR}/tsconfig.json`, 'utf8'));
  config.compilerOptions.typeRoots = [`${CLIENT_DIR}/node_modules/@types`];
  config.files = [...config.files.map((f) => `${CLIENT_DIR}/${f}`), `${dir}/wrong.ts`];
  writeFileSync(`${dir}/tsconfig.json`, JSON.stringify(config));
  const r = await run(process.execPath, [TSC, '-p', `${dir}/tsconfig.json`], { timeout: 240000 }).catch((e) => e);
  const errors = r.stdout.split('\n').filter((l) => / error TS/.test(l));
  assert.equal(errors.length, 2, `tsc said:\n${r.stdout}${r.stderr}`);
  assert.match(errors[0], /wrong\.ts\(3,\d+\): error TS2345/);
  assert.match(errors[1], /wrong\.ts\(4,\d+\): error TS2769/);

  // Every value the package exports is declared.
  const declared = readFileSync(`${CLIENT_DIR}/index.d.ts`, 'utf8');
  for (const name of Object.keys(wsbridge))
    assert.match(declared, new RegExp(`export (declare )?(class|function|const) ${name}\\b|export \\{[^}]*\\b${name}\\b`),
      `${name} is declared in index.d.ts`);
}, { timeout: 240000 });
