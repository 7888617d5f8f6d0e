// ioredis against the cache proxy's RESP port.
//
// Usage: node ioredis_client.js PACKAGE PROXY_PORT REDIS_PORT
// PACKAGE is `ioredis` (ioredis 6: HELLO 3, then the INFO ready check) or
// `ioredis5` (ioredis 5: RESP2 and the INFO ready check).
//
// Each profile connects with those options (defaults, a connection name,
// and for ioredis 6 protocol 2), waits for `ready`, then reads through the
// proxy: GET, MGET, a pipeline, a transaction (multi/exec), the reads
// answered from the cached value, INFO, and a write that must fail while the
// connection stays (same CLIENT ID before and after). Every wait is bounded.
'use strict';

const fs = require('fs');
const path = require('path');

const [pkg, proxyPort, redisPort] = process.argv.slice(2);
const Redis = require(pkg);
const version = JSON.parse(
  fs.readFileSync(path.join(process.env.NODE_PATH, pkg, 'package.json'), 'utf8')).version;
const label = `ioredis ${version} (${pkg})`;

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
  const client = new Redis({
    host: '127.0.0.1',
    port: Number(proxyPort),
    retryStrategy: () => null,  // fail the run rather than reconnect for ever
    ...options,
  });
  client.on('error', (e) => errors.push(e.message));
  try {
    await within(5000, 'ready', new Promise((resolve, reject) => {
      client.once('ready', resolve);
      client.once('end', () => reject(new Error('the connection ended before ready')));
    }));
  } catch (e) {
    fail('ready (HELLO and the INFO ready check)', `${e.message}; client errors: ${errors.join(' | ')}`);
  }
  check('PING', await within(5000, 'PING', client.ping()), 'PONG');
  // HELLO without a version reports the protocol the connection speaks.
  const hello = await client.call('HELLO');
  const fields = Array.isArray(hello) ? hello : Object.entries(hello).flat();
  check('protocol in use', Number(fields[fields.indexOf('proto') + 1]), expectedProtocol);
  const id = await client.client('ID');
  check('GET', await client.get('compat:a'), 'alpha');
  check('GET of binary bytes', await client.get('compat:bin'), 'bytes \r\n and \u00e9');
  check('GET of a missing key', await client.get('compat:none'), null);
  check('MGET', await client.mget('compat:a', 'compat:none', 'compat:b'), ['alpha', null, 'beta']);
  check('pipeline', await within(5000, 'pipeline', client.pipeline()
    .get('compat:a').get('compat:c').mget('compat:b', 'compat:none').exists('compat:a').exec()),
        [[null, 'alpha'], [null, 'gamma'], [null, ['beta', null]], [null, 1]]);
  check('transaction', await within(5000, 'transaction', client.multi()
    .get('compat:b').get('compat:none').strlen('compat:a').ttl('compat:a').exec()),
        [[null, 'beta'], [null, null], [null, 5], [null, -1]]);
  check('EXISTS', await client.exists('compat:a', 'compat:none', 'compat:b'), 2);
  check('STRLEN', await client.strlen('compat:c'), 5);
  check('TYPE', await client.type('compat:list'), 'list');
  check('GETRANGE', await client.getrange('compat:a', 1, -2), 'lph');
  check('PTTL of a missing key', await client.pttl('compat:none'), -2);
  const info = String(await client.info());
  check('INFO redis_version', info.includes('redis_version:7.0.15\r\n'), true);
  check('server info read by the ready check', client.serverInfo?.redis_version ?? '7.0.15',
        '7.0.15');
  if (options.connectionName) {
    check('CLIENT GETNAME', await client.client('GETNAME'), options.connectionName);
  }

  await expectError('SET', () => client.set('compat:a', 'overwritten'), ["unknown command 'SET'"]);
  check('the connection stays after a refused write', await client.client('ID'), id);
  await expectError('a transaction with a write',
                    () => client.multi().get('compat:a').set('compat:a', 'overwritten').exec(),
                    ['EXECABORT', "unknown command 'SET'"]);
  check('the connection stays after an aborted transaction', await client.client('ID'), id);
  check('GET after the refused writes', await client.get('compat:a'), 'alpha');
  check('no connection errors', errors, []);
  await client.quit();
}

async function main() {
  console.log(`[${label}] checking`);
  // ioredis 6 asks HELLO 3 by default; ioredis 5 speaks RESP2 without HELLO.
  const protocol = pkg === 'ioredis' ? 3 : 2;
  const profiles = [['defaults', {}, protocol],
                    ['connectionName', { connectionName: 'compat-io' }, protocol]];
  if (pkg === 'ioredis') {
    profiles.push(['protocol: 2 + connectionName', { protocol: 2, connectionName: 'compat-io' }, 2]);
  }
  for (const [name, options, expected] of profiles) await run(name, options, expected);
  profile = '';
  const direct = new Redis({ host: '127.0.0.1', port: Number(redisPort), lazyConnect: true });
  await within(5000, 'connect to Redis', direct.connect());
  check('nothing was written to Redis', await direct.get('compat:a'), 'alpha');
  await direct.quit();
  console.log(`[${label}] every check passed`);
}

main().catch((e) => fail('run', e.stack || e));
