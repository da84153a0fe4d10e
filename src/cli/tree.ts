// `sluice tree ks <name>`: a Kustomization's inventory as `flux tree kustomization` prints it, recursing into
// the Kustomizations it applied; `-o json|yaml` gives the same tree in flux's JSON shape.
import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'yaml';
import type { KubeClient } from '../kube/client.ts';
import { KustomizationApi } from '../api/kustomization.ts';
import { parseObjectId } from '../inventory/inventory.ts';
import { withClusterOptions, type ClusterOptions } from './flags.ts';
import { getKustomization, type FluxObject } from './kinds.ts';
import { runWithClient } from './status-log.ts';

/** flux's tree node (cli-utils ObjMetadata field names), so `-o json` output parses as flux's does. */
export interface TreeNode {
  resource: { Namespace: string; Name: string; GroupKind: { Group: string; Kind: string } };
  resources?: TreeNode[];
}

interface TreeOptions extends ClusterOptions {
  output?: 'json' | 'yaml';
  compact?: boolean;
}

const node = (group: string, kind: string, namespace: string, name: string): TreeNode => ({
  resource: { Namespace: namespace, Name: name, GroupKind: { Group: group, Kind: kind } },
});

/** `Kind/namespace/name`, or `Kind/name` when cluster-scoped. */
const nodeText = ({ resource }: TreeNode): string =>
  resource.Namespace
    ? `${resource.GroupKind.Kind}/${resource.Namespace}/${resource.Name}`
    : `${resource.GroupKind.Kind}/${resource.Name}`;

/** The tree as text: the root, then `├── `/`└── ` per child, indented by `│   ` or four spaces per level. */
export function formatTree(root: TreeNode): string {
  const lines = [nodeText(root)];
  const walk = (children: readonly TreeNode[], prefix: string) => {
    children.forEach((child, index) => {
      const last = index === children.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${nodeText(child)}`);
      walk(child.resources ?? [], `${prefix}${last ? '    ' : '│   '}`);
    });
  };
  walk(root.resources ?? [], '');
  return `${lines.join('\n')}\n`;
}

const isKustomization = (group: string, kind: string) =>
  group === KustomizationApi.group && kind === KustomizationApi.kind;

/**
 * Adds the inventory of `ks` under `parent`, recursing into child Kustomizations on the same cluster. A
 * Kustomization already in the tree is left out, so a cycle ends instead of recursing forever (as in flux).
 */
async function addInventory(
  client: KubeClient,
  parent: TreeNode,
  ks: FluxObject,
  compact: boolean,
  visited: Set<string>,
): Promise<void> {
  const children: TreeNode[] = [];
  for (const entry of ks.status?.inventory?.entries ?? []) {
    const { group, kind, namespace, name } = parseObjectId(entry.id);
    if (compact && !group.includes('toolkit.fluxcd.io')) continue;
    const child = node(group, kind, namespace, name);
    if (isKustomization(group, kind)) {
      const key = `${namespace}/${name}`;
      if (visited.has(key)) continue;
      visited.add(key);
      children.push(child);
      // flux does not follow Kustomizations that target another cluster.
      if (ks.spec?.['kubeConfig'] === undefined) {
        await addInventory(client, child, await getKustomization(client, namespace, name), compact, visited);
      }
      continue;
    }
    children.push(child);
  }
  if (children.length > 0) parent.resources = children;
}

function parseTreeOutput(value: string): 'json' | 'yaml' {
  if (value === 'json' || value === 'yaml') return value;
  throw new InvalidArgumentError("can be 'json' or 'yaml'");
}

export function treeCommand(): Command {
  const kustomization = new Command('kustomization')
    .aliases(['ks', 'kustomizations'])
    .description('print the resource inventory of a Kustomization')
    .argument('<name>', 'the Kustomization')
    .option('--compact', 'list Flux resources only')
    .addOption(
      new Option('-o, --output <format>', "the format of the tree: 'json' or 'yaml'").argParser(
        parseTreeOutput,
      ),
    );
  withClusterOptions(kustomization).action(async (name: string, options: TreeOptions) => {
    await runWithClient(options, async (client) => {
      const ks = await getKustomization(client, options.namespace, name);
      const root = node(
        KustomizationApi.group,
        KustomizationApi.kind,
        ks.metadata.namespace,
        ks.metadata.name,
      );
      await addInventory(
        client,
        root,
        ks,
        options.compact === true,
        new Set([`${ks.metadata.namespace}/${name}`]),
      );
      // flux prints each form with Println, hence the blank line after the tree.
      const text =
        options.output === 'json'
          ? JSON.stringify(root, null, 2)
          : options.output === 'yaml'
            ? stringify(root, { sortMapEntries: true, indentSeq: false })
            : formatTree(root);
      process.stdout.write(`${text}\n`);
    });
  });
  return new Command('tree')
    .description('print the resources a Flux object reconciles')
    .addCommand(kustomization);
}
