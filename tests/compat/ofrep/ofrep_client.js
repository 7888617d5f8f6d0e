// A stock OpenFeature client (@openfeature/server-sdk with the OFREP
// provider) evaluating redge's flags through the admin listener's OFREP
// endpoint: each value, variant, reason and error code as the SDK reports
// it to an application, and a change made through the admin API seen by
// the next evaluation. Flags are created by run_ofrep.py.
//
//   node ofrep_client.js http://127.0.0.1:ADMIN_PORT
// Exit 0: every check passed; 1: a check failed (each failure printed).

'use strict';

const { OpenFeature } = require('@openfeature/server-sdk');
const { OFREPProvider } = require('@openfeature/ofrep-provider');

const base = process.argv[2];
let failures = 0;

function check(what, actual, expected) {
  const ok = JSON.stringify(actual) === JSON.stringify(expected);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: ${JSON.stringify(actual)}` +
              (ok ? '' : ` (expected ${JSON.stringify(expected)})`));
  if (!ok) failures += 1;
}

function pick(d) {
  return { value: d.value, variant: d.variant, reason: d.reason, errorCode: d.errorCode };
}

async function main() {
  await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: base, timeoutMs: 5000 }));
  const client = OpenFeature.getClient('redge-ofrep-test');

  const on = await client.getBooleanDetails('set_enabled', false);
  check('on for everyone', pick(on), { value: true, variant: 'on', reason: 'STATIC' });
  check('metadata carries the version', typeof on.flagMetadata.version, 'number');

  check('switched off', pick(await client.getBooleanDetails('dark', true)),
        { value: false, variant: 'off', reason: 'DISABLED' });

  check('no such flag: the code default', pick(await client.getBooleanDetails('missing', true)),
        { value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });

  check('a listed target', pick(await client.getBooleanDetails('half', false, { targetingKey: 'vip' })),
        { value: true, variant: 'on', reason: 'TARGETING_MATCH' });

  check('a split with no key', pick(await client.getBooleanDetails('half', false, {})),
        { value: false, reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING' });

  // A split: the same user gets the same answer each time.
  const first = await client.getBooleanDetails('half', false, { targetingKey: 'user-7' });
  const again = await client.getBooleanDetails('half', false, { targetingKey: 'user-7' });
  check('a split is SPLIT', first.reason, 'SPLIT');
  check('a split is sticky', pick(again), pick(first));
  let inside = 0;
  for (let i = 0; i < 200; i += 1) {
    const d = await client.getBooleanValue('half', false, { targetingKey: `user-${i}` });
    inside += d ? 1 : 0;
  }
  check('about half of 200 users are in a 50% rollout', inside > 70 && inside < 130, true);

  // String variants; the stickiness attribute named by the flag wins over targetingKey.
  const color = await client.getStringDetails('color', 'none', { targetingKey: 'u', 'X-User': 'u-1' });
  check('a string variant', ['#f00', '#00f'].includes(color.value), true);
  check('its variant names its value', color.value === (color.variant === 'red' ? '#f00' : '#00f'), true);
  const colors = new Set();
  for (let i = 0; i < 50; i += 1) {
    colors.add(await client.getStringValue('color', 'none', { 'X-User': `u-${i}` }));
  }
  check('both variants are served', [...colors].sort(), ['#00f', '#f00']);

  const mismatch = await client.getNumberDetails('set_enabled', 7);
  check('asking a boolean flag for a number', pick(mismatch),
        { value: 7, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });

  // Switched on through the admin API: the next evaluation sees it.
  const res = await fetch(`${base}/flags/dark/on`, { method: 'POST' });
  check('POST /flags/dark/on', res.status, 200);
  check('switched on', pick(await client.getBooleanDetails('dark', false)),
        { value: true, variant: 'on', reason: 'STATIC' });

  await OpenFeature.close();
}

main().then(
  () => {
    console.log(failures === 0 ? 'all OFREP checks passed' : `${failures} OFREP check(s) failed`);
    process.exit(failures === 0 ? 0 : 1);
  },
  (err) => {
    console.log(`FAIL ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  });
