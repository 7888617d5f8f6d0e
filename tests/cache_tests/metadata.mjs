// Prints, as JSON on stdout, what the summary needs from an installed
// http-cache-tests package and that only its JavaScript modules hold: every
// test's id, name, suite, kind and dependencies (tests/index.mjs plus the
// Surrogate-Control suite the CLI adds) and the index of the results it
// ships (results/index.mjs). Usage: node metadata.mjs <package directory>
import path from 'path'
import { pathToFileURL } from 'url'

const pkg = path.resolve(process.argv[2] || '.')
const load = async (rel) => (await import(pathToFileURL(path.join(pkg, rel)).href)).default

const suites = await load('tests/index.mjs')
const surrogate = await load('tests/surrogate-control.mjs')
// The CLI pushes the Surrogate-Control suite onto the same array (cli.mjs);
// the shipped browser results predate it or skip it.
if (!suites.includes(surrogate)) suites.push(surrogate)
const index = await load('results/index.mjs')

const tests = []
for (const suite of suites) {
  for (const test of suite.tests) {
    tests.push({
      id: test.id,
      name: test.name,
      suite: suite.id,
      suite_name: suite.name,
      kind: test.kind || 'required',
      depends_on: test.depends_on || [],
      browser_only: test.browser_only === true,
      browser_skip: test.browser_skip === true
    })
  }
}
process.stdout.write(JSON.stringify({ tests, index }, null, 1) + '\n')
