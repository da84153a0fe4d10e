import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { featureGates, namespaceDefault } from './flags.ts';

describe('namespaceDefault', () => {
  it('is flux-system unless $FLUX_SYSTEM_NAMESPACE names a valid namespace', () => {
    assert.equal(namespaceDefault({}), 'flux-system');
    assert.equal(namespaceDefault({ FLUX_SYSTEM_NAMESPACE: 'apps' }), 'apps');
    assert.equal(namespaceDefault({ FLUX_SYSTEM_NAMESPACE: 'Not_Valid' }), 'flux-system');
  });
});

describe('featureGates', () => {
  it("reads Flux's form, and refuses a gate or a value it does not know", () => {
    assert.deepEqual(featureGates('StrictPostBuildSubstitutions=false,CancelHealthCheckOnNewRevision=true'), {
      StrictPostBuildSubstitutions: false,
      CancelHealthCheckOnNewRevision: true,
    });
    assert.throws(
      () => featureGates('GroupChangeLog=true'),
      /unknown feature gate "GroupChangeLog"; sluice takes/,
    );
    assert.throws(() => featureGates('StrictPostBuildSubstitutions'), /must be =true or =false/);
  });
});
