// The Kustomization CRD: the same names, fields, types, patterns and defaults as Flux's kustomize-controller
// serves, so Flux manifests and the flux CLI work against it; the schema text is our own.
import {
  agePrinterColumn,
  arrayField,
  booleanField,
  conditionsField,
  crdLabels,
  crdName,
  crdNames,
  enumField,
  int64Field,
  localRefField,
  objectField,
  readyPrinterColumns,
  rootSchema,
  stringField,
  stringMapField,
  type CrdVersion,
  type CustomResourceDefinition,
  type JsonSchema,
} from './crd-schema.ts';
import { durationPattern } from './duration.ts';
import {
  BuildMetadataOption,
  DeletionPolicy,
  KustomizationApi,
  KustomizationV1beta2Api,
  SourceKind,
  SubstituteStrategy,
} from './kustomization.ts';

const selector = objectField(
  'Selects objects: group, version, kind, name and namespace are regular expressions; the selectors use ' +
    'Kubernetes label selector syntax.',
  {
    group: stringField('API group.'),
    version: stringField('API version.'),
    kind: stringField('Kind.'),
    name: stringField('Object name.'),
    namespace: stringField('Object namespace.'),
    labelSelector: stringField('Label selector the object labels must match.'),
    annotationSelector: stringField('Label selector the object annotations must match.'),
  },
);

const duration = (description: string) => stringField(description, { pattern: durationPattern });

const specProperties: Record<string, JsonSchema> = {
  interval: duration('How often to reconcile, as a Go duration (ms, s, m, h).'),
  retryInterval: duration('How soon to retry after a failed reconcile; interval when unset.'),
  timeout: duration(
    'Limit for fetching, applying and health checking; interval minus 30s when unset, never below 30s.',
  ),
  sourceRef: objectField(
    'The source whose artifact holds the manifests.',
    {
      apiVersion: stringField('API version of the source (informational).'),
      kind: enumField('Kind of the source.', Object.values(SourceKind)),
      name: stringField('Name of the source.'),
      namespace: stringField("Namespace of the source; this Kustomization's namespace when empty."),
    },
    ['kind', 'name'],
  ),
  path: stringField('Directory inside the artifact to build; the artifact root when empty.'),
  prune: booleanField('Delete objects that were applied before but are no longer in the build.'),
  deletionPolicy: enumField(
    'What happens to the applied objects when this Kustomization is deleted; MirrorPrune follows prune.',
    Object.values(DeletionPolicy),
  ),
  wait: booleanField('Wait for every applied object to become ready; healthChecks is then ignored.'),
  force: booleanField('Delete and recreate objects whose update is refused because a field is immutable.', {
    default: false,
  }),
  dependsOn: arrayField(
    'Kustomizations that must be ready before this one is reconciled.',
    objectField(
      'A Kustomization this one waits for.',
      {
        name: stringField('Name of the Kustomization.'),
        namespace: stringField("Its namespace; this Kustomization's namespace when empty."),
        readyExpr: stringField('CEL expression over self and dep that decides readiness instead.'),
      },
      ['name'],
    ),
  ),
  suspend: booleanField('Stop reconciling until set back to false.'),
  targetNamespace: stringField('Namespace to put every built object in.', { minLength: 1, maxLength: 63 }),
  namePrefix: stringField('Prefix for the names of all built objects.', { minLength: 1, maxLength: 200 }),
  nameSuffix: stringField('Suffix for the names of all built objects.', { minLength: 1, maxLength: 200 }),
  patches: arrayField(
    'Patches applied by kustomize to the build.',
    objectField(
      'A strategic merge or JSON 6902 patch and the objects it applies to.',
      {
        patch: stringField('The patch, as inline YAML or JSON.'),
        target: selector,
      },
      ['patch'],
    ),
  ),
  images: arrayField(
    'Image name, tag and digest overrides.',
    objectField(
      'Replaces the name, tag or digest of one image.',
      {
        name: stringField('Image name to match, without a tag.'),
        newName: stringField('Replacement image name.'),
        newTag: stringField('Replacement tag.'),
        digest: stringField('Replacement digest; wins over newTag.'),
      },
      ['name'],
    ),
  ),
  components: arrayField('Local relative paths of kustomize components to add.', { type: 'string' }),
  ignoreMissingComponents: booleanField('Skip components whose path does not exist instead of failing.'),
  buildMetadata: arrayField(
    'Build metadata annotations kustomize adds to the objects.',
    enumField('A kustomize build metadata option.', Object.values(BuildMetadataOption)),
  ),
  commonMetadata: objectField('Labels and annotations set on every built object.', {
    labels: stringMapField('Labels to set.'),
    annotations: stringMapField('Annotations to set.'),
  }),
  postBuild: objectField('Variable substitution in the built manifests.', {
    substitute: stringMapField('Variables and their values, used in the manifests as ${name}.'),
    substituteFrom: arrayField(
      'ConfigMaps and Secrets in this namespace whose data are variables; later ones win.',
      objectField(
        'A ConfigMap or Secret holding variables.',
        {
          kind: enumField('Kind of the object.', ['Secret', 'ConfigMap']),
          name: stringField('Name of the object.', { minLength: 1, maxLength: 253 }),
          optional: booleanField('Treat a missing object as empty instead of failing.', { default: false }),
        },
        ['kind', 'name'],
      ),
    ),
    substituteStrategy: enumField(
      'WithVariables substitutes only when variables are defined; Always substitutes every time.',
      Object.values(SubstituteStrategy),
    ),
  }),
  healthChecks: arrayField(
    'Objects to wait for when wait is false.',
    objectField(
      'An object to health check.',
      {
        apiVersion: stringField('API version of the object; apps/v1 when empty.'),
        kind: stringField('Kind of the object.'),
        name: stringField('Name of the object.'),
        namespace: stringField('Namespace of the object; empty for cluster-scoped objects.'),
      },
      ['kind', 'name'],
    ),
  ),
  healthCheckExprs: arrayField(
    'CEL expressions that compute the health of custom resources.',
    objectField(
      'Health expressions for one kind.',
      {
        apiVersion: stringField('API version of the kind.'),
        kind: stringField('The kind.'),
        current: stringField('True when the object is ready.'),
        inProgress: stringField('True when the object is still progressing.'),
        failed: stringField('True when the object has failed.'),
      },
      ['apiVersion', 'current', 'kind'],
    ),
  ),
  ignore: arrayField(
    'Fields left out of drift detection and correction.',
    objectField(
      'JSON pointers to ignore, on all objects or on the selected ones.',
      {
        paths: arrayField('JSON pointers (RFC 6901) of the fields to ignore.', { type: 'string' }),
        target: selector,
      },
      ['paths'],
    ),
  ),
  serviceAccountName: stringField('ServiceAccount in this namespace to impersonate when applying.'),
  kubeConfig: {
    ...objectField('Apply to another cluster instead of this one.', {
      secretRef: objectField(
        'Secret holding a kubeconfig.',
        {
          name: stringField('Name of the Secret.'),
          key: stringField('Key holding the kubeconfig; value when empty.'),
        },
        ['name'],
      ),
      configMapRef: localRefField('ConfigMap describing a cluster reached through workload identity.'),
    }),
    'x-kubernetes-validations': [
      {
        rule: 'has(self.secretRef) != has(self.configMapRef)',
        message: 'set exactly one of kubeConfig.secretRef and kubeConfig.configMapRef',
      },
    ],
  },
  decryption: objectField(
    'Decrypt SOPS-encrypted Secrets before applying them.',
    {
      provider: enumField('Decryption engine.', ['sops']),
      secretRef: localRefField('Secret holding the private keys.'),
      serviceAccountName: stringField('ServiceAccount whose identity reaches the key management service.'),
    },
    ['provider'],
  ),
};

const specRequired = ['interval', 'prune', 'sourceRef'];

// v1beta2 objects are stored as v1 unchanged (conversion None just relabels apiVersion), so the v1beta2 schema
// accepts everything v1 does plus the three fields only v1beta2 had. Those three are kept in the request but pruned
// when the object is stored as v1, because the v1 schema does not know them: they have no effect in sluice.
const v1beta2OnlyProperties: Record<string, JsonSchema> = {
  patchesStrategicMerge: arrayField('Deprecated: use patches. Strategic merge patches as inline objects.', {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
  }),
  patchesJson6902: arrayField(
    'Deprecated: use patches. JSON 6902 patches as inline operation lists.',
    objectField(
      'A JSON 6902 patch and the objects it applies to.',
      {
        patch: arrayField(
          'The operations.',
          objectField(
            'One JSON 6902 operation.',
            {
              op: enumField('The operation.', ['test', 'remove', 'add', 'replace', 'move', 'copy']),
              path: stringField('JSON pointer of the target location.'),
              from: stringField('JSON pointer of the source location, for move and copy.'),
              value: {
                description: 'The value, for add, replace and test.',
                'x-kubernetes-preserve-unknown-fields': true,
              },
            },
            ['op', 'path'],
          ),
        ),
        target: selector,
      },
      ['patch', 'target'],
    ),
  ),
  validation: enumField('Deprecated and ignored: manifests are always validated by a server-side dry run.', [
    'none',
    'client',
    'server',
  ]),
};

const status = objectField('What the reconciler last observed, applied and attempted.', {
  observedGeneration: int64Field('The metadata.generation last reconciled successfully; -1 before that.'),
  conditions: conditionsField('Ready, Reconciling, Stalled and Healthy.'),
  lastAppliedRevision: stringField('The source revision last applied and found healthy.'),
  lastAppliedOriginRevision: stringField('The origin revision of the artifact last applied, if it had one.'),
  lastAttemptedRevision: stringField('The source revision of the last reconcile attempt.'),
  lastHandledReconcileAt: stringField('The last reconcile.fluxcd.io/requestedAt value acted on.'),
  inventory: objectField(
    'The objects applied by the last successful apply.',
    {
      entries: arrayField(
        'One entry per object, in apply order.',
        objectField(
          'An applied object.',
          {
            id: stringField('<namespace>_<name>_<group>_<kind> of the object.'),
            v: stringField('API version of the object, without the group.'),
          },
          ['id', 'v'],
        ),
      ),
    },
    ['entries'],
  ),
  jobRuns: arrayField(
    'sluice only: the run ledger, newest first: each run of each Job it applied, per manifest digest, with how it ended and why it failed (at most 10 runs per Job and 50 in all).',
    objectField(
      'One run of one Job object for one exact manifest.',
      {
        id: stringField('<namespace>_<name>_batch_Job of the Job.'),
        digest: stringField('Checksum of the Job manifest as applied, as <algorithm>:<hex>.'),
        revision: stringField('The source revision the Job ran for.'),
        attempt: int64Field('1 for the first run of this manifest, one more per rerun or retry.'),
        trigger: enumField('What created the run.', ['Apply', 'Rerun', 'Retry', 'OnFailure']),
        uid: stringField('The uid of the Job object of this run.'),
        result: enumField(
          'How the run ended (Unknown: the Job was deleted before it was seen to end), or Running.',
          ['Running', 'Complete', 'Failed', 'Cancelled', 'Unknown'],
        ),
        startedAt: stringField('When the Job started.', { format: 'date-time' }),
        finishedAt: stringField('When the Job completed, failed or was cancelled.', { format: 'date-time' }),
        retryAt: stringField('When the next automatic attempt is due (sluice.dev/retry).', {
          format: 'date-time',
        }),
        failure: objectField(
          'Why the run failed or was cancelled, read when it did.',
          {
            reason: stringField(
              'The Job Failed reason (BackoffLimitExceeded, DeadlineExceeded, ...) or Cancelled.',
            ),
            message: stringField('The Job Failed message.'),
            pod: stringField('The failed pod.'),
            container: stringField('The failed container.'),
            exitCode: int64Field('The failed container exit code.'),
            signal: int64Field('The signal that ended the failed container.'),
            terminationReason: stringField(
              'The failed container termination reason (Error, OOMKilled, ...).',
            ),
            terminationMessage: stringField('The failed container termination message.'),
            log: stringField('The end of the failed container log, when asked for.'),
            withheld: stringField('Why the termination message or log was not kept.'),
          },
          ['reason'],
        ),
      },
      ['id', 'digest', 'revision', 'attempt', 'trigger', 'uid', 'result', 'startedAt'],
    ),
  ),
  lastHandledRerunAt: stringField('sluice only: the last sluice.dev/rerun-requested-at value acted on.'),
  lastFailureHookRevision: stringField('sluice only: the last revision the failure hook was started for.'),
  completedJobs: arrayField(
    'Deprecated (sluice before the run ledger): completed Jobs, read once into jobRuns, then dropped.',
    objectField(
      'A Job that completed for one exact manifest.',
      {
        id: stringField('<namespace>_<name>_batch_Job of the Job.'),
        digest: stringField('Checksum of the Job manifest as applied, as <algorithm>:<hex>.'),
        revision: stringField('The source revision the Job completed for.'),
        completedAt: stringField('When the controller saw the Job complete.', { format: 'date-time' }),
      },
      ['id', 'digest', 'revision', 'completedAt'],
    ),
  ),
  history: arrayField(
    'The outcomes of the last reconciles, most recent first, one per built manifest set and outcome.',
    objectField(
      'The outcome of reconciling one built manifest set.',
      {
        digest: stringField('Checksum of the built manifests as <algorithm>:<hex>.'),
        firstReconciled: stringField('When this outcome was first recorded.', { format: 'date-time' }),
        lastReconciled: stringField('When this outcome was last recorded.', { format: 'date-time' }),
        lastReconciledDuration: stringField('How long the last reconcile took, as a Go duration.'),
        lastReconciledStatus: stringField('The Ready reason the last reconcile ended with.'),
        totalReconciliations: int64Field('How many reconciles ended with this outcome.'),
        metadata: stringMapField('The revision and origin revision reconciled.'),
      },
      [
        'digest',
        'firstReconciled',
        'lastReconciled',
        'lastReconciledDuration',
        'lastReconciledStatus',
        'totalReconciliations',
      ],
    ),
  ),
});

function version(name: string, specSchema: JsonSchema): Omit<CrdVersion, 'served' | 'storage'> {
  return {
    name,
    schema: {
      openAPIV3Schema: rootSchema(
        'Builds manifests from a source artifact with kustomize and applies them.',
        specSchema,
        status,
      ),
    },
    subresources: { status: {} },
    additionalPrinterColumns: [agePrinterColumn, ...readyPrinterColumns],
  };
}

const specDescription = 'Where the manifests come from, how they are built and applied, and how often.';

export function kustomizationCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(KustomizationApi), labels: { ...crdLabels } },
    spec: {
      group: KustomizationApi.group,
      names: crdNames(KustomizationApi),
      scope: 'Namespaced',
      conversion: { strategy: 'None' },
      versions: [
        {
          ...version(KustomizationApi.version, objectField(specDescription, specProperties, specRequired)),
          served: true,
          storage: true,
        },
        {
          ...version(
            KustomizationV1beta2Api.version,
            objectField(specDescription, { ...specProperties, ...v1beta2OnlyProperties }, specRequired),
          ),
          served: true,
          storage: false,
          deprecated: true,
          deprecationWarning: `${KustomizationV1beta2Api.apiVersion} Kustomization is deprecated: use ${KustomizationApi.apiVersion}`,
        },
      ],
    },
  };
}
