// node-redis against the cache proxy's RESP port.
//
// Usage: node node_redis_client.js PACKAGE PROXY_PORT REDIS_PORT
// PACKAGE is `redis` (node-redis 6: HELLO 3 by default) or `redis5`
// (node-redis 5: RESP2 without HELLO by default, HELLO 2 or 3 when asked).
//
// Each profile connects with those options (defaults, a connection name,
// each RESP version), then reads through the proxy: GET, MGET, a pipeline,
// a transaction (multi/exec), the reads answered from the cached value,
// INFO, and a write that must fail while the connection stays (same CLIENT
// ID before and after). Every wait is bounded: a client that never becomes
// ready fails the run instead of reconnecting for ever.
'use strict';

const fs = require('fs');
const path = require('path');

const [pkg, proxyPort, redisPort] = process.argv.slice(2);
const { createClient } = require(pkg);
const version = JSON.parse(
  fs.readFileSync(path.join(process.env.NODE_PATH, pkg, 'package.json'), 'utf8')).version;
const label = `node-redis ${version} (${pkg})`;

let profile = '';
function fail(what, detail) {
  console.log(`[${label} ${profile}] FAILED ${what}: ${detail}`);
  process.exit(1);
}
function check(what, got, want) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    fail(what, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  console.log(`[${label} ${profile}] ok ${what}`);
}
function within(ms, what, promise) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}
// The refusal must carry the proxy's error (any of `texts`).
async function expectError(what, fn, texts) {
  try {
    await within(5000, what, fn());
  } catch (e) {
    const message = String(e.message);
    if (!texts.some((t) => message.toLowerCase().includes(t.toLowerCase()))) {
      fail(`${what} is refused`, `the error says ${JSON.stringify(message)}`);
    }
    check(`${what} is refused`, true, true);
    return;
  }
  fail(`${what} is refused`, 'it succeeded');
}

async function run(name, options, expectedProtocol) {
  profile = name;
  const errors = [];
  const client = createClient({
    socket: { host: '127.0.0.1', port: Number(proxyPort), reconnectStrategy: false },
    ...options,
  });
  client.on('error', (e) => errors.push(e.message));
  try {
    await within(5000, 'connect', client.connect());
  } catch (e) {
    fail('connect', `${e.message}; client errors: ${errors.join(' | ')}`);
  }
  check('PING', await within(5000, 'PING', client.ping()), 'PONG');
  // HELLO without a version reports the protocol the connection speaks.
  const hello = await client.hello();
  check('protocol in use', Number(hello.proto), expectedProtocol);
  check('HELLO server', String(hello.server), 'redis');
  const id = await client.clientId();
  check('GET', await client.get('compat:a'), 'alpha');
  check('GET of binary bytes', await client.get('compat:bin'), 'bytes \r\n and \u00e9');
  check('GET of a missing key', await client.get('compat:none'), null);
  check('MGET', await client.mGet(['compat:a', 'compat:none', 'compat:b']),
        ['alpha', null, 'beta']);
  // Commands issued together leave in one write: node-redis pipelines them.
  check('pipeline', await within(5000, 'pipeline', Promise.all([
    client.get('compat:a'), client.get('compat:c'), client.mGet(['compat:b', 'compat:none']),
    client.exists('compat:a'),
  ])), ['alpha', 'gamma', ['beta', null], 1]);
  check('transaction', await within(5000, 'transaction', client.multi()
    .get('compat:b').get('compat:none').strLen('compat:a').ttl('compat:a').exec()),
        ['beta', null, 5, -1]);
  check('EXISTS', await client.exists(['compat:a', 'compat:none', 'compat:b']), 2);
  check('STRLEN', await client.strLen('compat:c'), 5);
  check('TYPE', await client.type('compat:list'), 'list');
  check('GETRANGE', await client.getRange('compat:a', 1, -2), 'lph');
  check('PTTL of a missing key', await client.pTTL('compat:none'), -2);
  const info = String(await client.info());
  check('INFO redis_version', info.includes('redis_version:7.0.15\r\n'), true);
  if (options.name) check('CLIENT GETNAME', await client.clientGetName(), options.name);

  await expectError('SET', () => client.set('compat:a', 'overwritten'), ["unknown command 'SET'"]);
  check('the connection stays after a refused write', await client.clientId(), id);
  await expectError('a transaction with a write',
                    () => client.multi().get('compat:a').set('compat:a', 'overwritten').exec(),
                    // node-redis reports the queued command's error.
                    ["unknown command 'SET'", 'EXECABORT']);
  check('the connection stays after an aborted transaction', await client.clientId(), id);
  check('GET after the refused writes', await client.get('compat:a'), 'alpha');
  check('no connection errors', errors, []);
  await client.quit();
}

async function main() {
  console.log(`[${label}] checking`);
  const profiles = pkg === 'redis'
    ? [['defaults (HELLO 3)', {}, 3], ['name', { name: 'compat-node' }, 3],
       ['RESP: 2', { RESP: 2 }, 2], ['RESP: 2 + name', { RESP: 2, name: 'compat-node' }, 2]]
    : [['defaults (RESP2, no HELLO)', {}, 2], ['name', { name: 'compat-node' }, 2],
       ['RESP: 2 (HELLO 2)', { RESP: 2 }, 2],
       ['RESP: 3 (HELLO 3) + name', { RESP: 3, name: 'compat-node' }, 3]];
  for (const [name, options, protocol] of profiles) await run(name, options, protocol);
  const direct = createClient({ socket: { host: '127.0.0.1', port: Number(redisPort) } });
  await within(5000, 'connect to Redis', direct.connect());
  profile = '';
  check('nothing was written to Redis', await direct.get('compat:a'), 'alpha');
  await direct.quit();
  console.log(`[${label}] every check passed`);
}

main().catch((e) => fail('run', e.stack || e));
