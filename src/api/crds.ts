// Every CustomResourceDefinition sluice serves, as objects (to apply) and as YAML (to export).
import { stringify } from 'yaml';
import type { CustomResourceDefinition } from './crd-schema.ts';
import { gitRepositoryCrd } from './gitrepository-crd.ts';
import { kustomizationCrd } from './kustomization-crd.ts';
import { ociRepositoryCrd } from './ocirepository-crd.ts';

export type { CustomResourceDefinition } from './crd-schema.ts';

/** The CRDs in install order: sources before the appliers that reference them. */
export function allCrds(): CustomResourceDefinition[] {
  return [gitRepositoryCrd(), ociRepositoryCrd(), kustomizationCrd()];
}

/** The CRDs as a multi-document YAML stream, each document starting with `---`. */
export function crdsYaml(): string {
  return allCrds()
    .map((crd) => `---\n${stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false })}`)
    .join('');
}
