// The sluice version, from package.json (one level up from both src/ and dist/): the install manifests' image
// tag and version label, and what the leader records on its Lease for `sluice check`.
import { readFileSync } from 'node:fs';

export const sluiceVersion: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
