// The table `sluice build --dry-run` defaults namespaces by, against a real API server's discovery: every kind
// the server serves in the table's groups has the scope the table gives it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testClient } from '../support/cluster.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { RestMapper } from '../../src/kube/discovery.ts';
import { builtinGroups, builtinKindScopes } from '../../src/kube/builtin-kinds.ts';

interface Discovery {
  groups: { name: string; preferredVersion: { groupVersion: string } }[];
}
interface ResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

describe('the built-in kind scopes', () => {
  let client: KubeClient;
  before(async () => {
    client = await testClient();
  });
  after(() => client.close());

  it('match the API server for every kind it serves in the built-in groups', async () => {
    const groupVersions = ['v1'];
    for (const group of (await client.request<Discovery>('GET', '/apis')).groups) {
      if (builtinGroups.has(group.name)) groupVersions.push(group.preferredVersion.groupVersion);
    }
    const wrong: string[] = [];
    let checked = 0;
    for (const groupVersion of groupVersions) {
      const list = await client.request<ResourceList>(
        'GET',
        groupVersion === 'v1' ? '/api/v1' : `/apis/${groupVersion}`,
      );
      for (const resource of list.resources) {
        if (resource.name.includes('/')) continue; // a subresource
        checked++;
        const table = await builtinKindScopes.isNamespaced(groupVersion, resource.kind);
        if (table !== resource.namespaced)
          wrong.push(`${groupVersion} ${resource.kind}: server ${resource.namespaced}, table ${table}`);
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(checked > 50, `only ${checked} kinds checked`);
    // And the table agrees with the mapper the controller uses, for a kind of each scope.
    const mapper = new RestMapper(client);
    assert.equal(await mapper.isNamespaced('v1', 'ConfigMap'), true);
    assert.equal(await mapper.isNamespaced('rbac.authorization.k8s.io/v1', 'ClusterRole'), false);
    assert.equal(await mapper.isNamespaced('unknown.example.com/v1', 'Gadget'), undefined);
  });
});
