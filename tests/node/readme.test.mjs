// The README's Node examples run as they are against a demo-like session.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { CLIENT_DIR, SOURCE_ROOT, wsbTest } from './harness.mjs';

const run = promisify(execFile);

/** The ```js blocks of the README's "## Node" section. */
function nodeExamples() {
  const readme = readFileSync(`${SOURCE_ROOT}README.md`, 'utf8');
  const start = readme.indexOf('\n## Node\n');
  const end = readme.indexOf('\n## ', start + 1);
  assert.ok(start > 0 && end > start, 'README.md has a "## Node" section');
  return [...readme.slice(start, end).matchAll(/```js\n(.*?)```/gs)].map((m) => m[1]);
}

wsbTest('node_readme_examples_run', async (h) => {
  const examples = nodeExamples();
  assert.ok(examples.length >= 7, `${examples.length} examples`);
  // The demo session of `make run`: routed by /region, subscribed upstream.
  const server = await h.server();
  const daemon = await h.daemon({
    sessions: [{
      name: 'demo', url: server.url, channel_key: '/region',
      subscribe_template: '{"op":"subscribe","channel":"{channel}"}',
      unsubscribe_template: '{"op":"unsubscribe","channel":"{channel}"}',
    }],
  });
  await daemon.waitState('demo', 'open');
  let n = 0;
  const ticker = setInterval(() => {
    n++;
    server.inject(JSON.stringify({ type: 'tick', n, region: ['eu', 'us', 'asia'][n % 3], price: 100 + n / 10 }))
      .catch(() => {});
  }, 30);
  try {
    const dir = `${h.info.tmp}/project`;
    mkdirSync(`${dir}/node_modules`, { recursive: true });
    symlinkSync(CLIENT_DIR, `${dir}/node_modules/wsbridge`);
    writeFileSync(`${dir}/package.json`, JSON.stringify({ type: 'module', private: true }));
    for (const [i, code] of examples.entries()) {
      writeFileSync(`${dir}/example${i}.mjs`, code);
      const r = await run(process.execPath, [`example${i}.mjs`], {
        cwd: dir, timeout: 30000 * h.slow, env: { ...process.env, WSBRIDGE_SOCKET: daemon.socket },
      }).catch((e) => e);
      assert.equal(r.code ?? 0, 0, `example ${i} failed:\n${code}\n${r.stdout}${r.stderr}`);
      assert.notEqual(r.stdout, '', `example ${i} printed nothing`);
      assert.equal(r.stderr, '', `example ${i}`);
    }
  } finally {
    clearInterval(ticker);
  }
});
