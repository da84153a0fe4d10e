// The GitRepository CRD: the same names, fields, types, patterns and defaults as Flux's source-controller serves,
// so Flux manifests and the flux CLI work against it; the schema text is our own.
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
  type CustomResourceDefinition,
  type JsonSchema,
} from './crd-schema.ts';
import { durationPattern, shortDurationPattern } from './duration.ts';
import { GitProvider, GitRepositoryApi, GitVerificationMode, defaultGitTimeout } from './gitrepository.ts';
import { Annotation, AnnotationValue } from './meta.ts';

const include = objectField(
  'Another GitRepository whose artifact is copied into this one.',
  {
    repository: localRefField('The GitRepository to include, in the same namespace.'),
    fromPath: stringField('Directory of the included artifact to copy; its root when empty.'),
    toPath: stringField('Where to put the copy in this artifact; the included repository name when empty.'),
  },
  ['repository'],
);

/** A stored artifact, as every source kind publishes it. */
export const artifact = objectField(
  'A tarball produced from one revision and served over HTTP.',
  {
    path: stringField('Location of the tarball relative to the storage root.'),
    url: stringField('HTTP address to download the tarball from.'),
    revision: stringField('The source revision, such as main@sha1:<commit>; compare it as an opaque string.'),
    digest: stringField('Checksum of the tarball as <algorithm>:<hex>.', {
      pattern: '^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$',
    }),
    lastUpdateTime: stringField('When the tarball was last written.', { format: 'date-time' }),
    size: int64Field('Size of the tarball in bytes.'),
    metadata: stringMapField('Upstream information about the revision.'),
  },
  ['digest', 'lastUpdateTime', 'path', 'revision', 'url'],
);

const spec: JsonSchema = {
  ...objectField(
    'Which Git repository and reference to fetch, how often, and with which credentials.',
    {
      url: stringField(
        'Repository address: http://, https:// or ssh:// (the scp-like form is not accepted).',
        {
          pattern: '^(http|https|ssh)://.*$',
        },
      ),
      secretRef: localRefField(
        'Secret with the credentials: username and password or bearerToken for HTTPS, identity and known_hosts ' +
          'for SSH.',
      ),
      provider: enumField('Who authenticates the fetch; generic uses secretRef.', Object.values(GitProvider)),
      serviceAccountName: stringField(
        'ServiceAccount whose identity authenticates the azure or aws provider.',
      ),
      interval: stringField('How often to look for a new revision, as a Go duration (ms, s, m, h).', {
        pattern: durationPattern,
      }),
      timeout: stringField('Limit for each Git operation, as a Go duration (ms, s, m).', {
        pattern: shortDurationPattern,
        default: defaultGitTimeout,
      }),
      ref: objectField('The reference to check out; the master branch when none is set.', {
        branch: stringField('Branch to follow.'),
        tag: stringField('Tag to check out; wins over branch.'),
        semver: stringField('Semantic version range: the highest matching tag is checked out.'),
        name: stringField('Full Git reference, such as refs/pull/1/head; wins over branch, tag and semver.'),
        commit: stringField('Commit to check out; wins over everything, and combined with branch clones it.'),
      }),
      verify: objectField(
        'Check the OpenPGP or SSH signature of the fetched commit or tag.',
        {
          mode: {
            ...enumField('What to verify: the commit (HEAD), the tag, or both.', [
              GitVerificationMode.legacyHead,
              GitVerificationMode.head,
              GitVerificationMode.tag,
              GitVerificationMode.tagAndHead,
            ]),
            default: GitVerificationMode.head,
          },
          secretRef: localRefField('Secret with the trusted public keys (*.asc for PGP, *.sshpub for SSH).'),
        },
        ['secretRef'],
      ),
      proxySecretRef: localRefField('Secret with the proxy address, username and password.'),
      ignore: stringField('Patterns in .gitignore format left out of the artifact, replacing the defaults.'),
      suspend: booleanField('Stop fetching until set back to false.'),
      recurseSubmodules: booleanField('Also clone the submodules.'),
      include: arrayField('Other GitRepositories copied into the artifact.', include),
      sparseCheckout: arrayField('Only check out these directories.', { type: 'string' }),
    },
    ['interval', 'url'],
  ),
  'x-kubernetes-validations': [
    {
      rule: "!has(self.serviceAccountName) || (has(self.provider) && self.provider in ['azure', 'aws'])",
      message: 'serviceAccountName is only used by the azure and aws providers: set provider or remove it',
    },
  ],
};

const status = objectField('What the source reconciler last observed and produced.', {
  observedGeneration: int64Field('The metadata.generation last reconciled; -1 before the first reconcile.'),
  conditions: conditionsField('Ready, Reconciling, Stalled, ArtifactInStorage, FetchFailed and friends.'),
  artifact: artifact,
  includedArtifacts: arrayField('The artifacts of the included repositories last copied in.', artifact),
  observedIgnore: stringField('The ignore patterns the current artifact was built with.'),
  observedRecurseSubmodules: booleanField('Whether the current artifact includes submodules.'),
  observedInclude: arrayField('The includes the current artifact was built with.', include),
  observedSparseCheckout: arrayField('The directories the current artifact was checked out with.', {
    type: 'string',
  }),
  sourceVerificationMode: stringField('What was last verified: HEAD, Tag or TagAndHEAD.'),
  lastHandledReconcileAt: stringField('The last reconcile.fluxcd.io/requestedAt value acted on.'),
});

export function gitRepositoryCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: crdName(GitRepositoryApi),
      labels: { ...crdLabels },
      // Substituting ${var} inside this CRD when a Kustomization applies it would corrupt it.
      annotations: { [Annotation.substitute]: AnnotationValue.disabled },
    },
    spec: {
      group: GitRepositoryApi.group,
      names: crdNames(GitRepositoryApi),
      scope: 'Namespaced',
      versions: [
        {
          name: GitRepositoryApi.version,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: rootSchema('A Git repository fetched into a versioned artifact.', spec, status),
          },
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'URL', type: 'string', jsonPath: '.spec.url' },
            agePrinterColumn,
            ...readyPrinterColumns,
          ],
        },
      ],
    },
  };
}
