#!/usr/bin/env node
// Entry point of the sluice CLI. Checks the Node version first, so an old Node gets a clear message
// instead of a syntax error deep inside a dependency.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `sluice needs Node.js 24 or newer, but this is ${process.version}.\n` +
      'In a checkout, "npm ci" installs Node 24 into node_modules/.bin: run "npx sluice" or any npm script.\n' +
      'Elsewhere, install Node 24 LTS (for example "npm install -g node@24").',
  );
  process.exit(1);
}
await import('../dist/cli/main.js');
