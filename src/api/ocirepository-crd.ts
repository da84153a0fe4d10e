// The OCIRepository CRD: the same names, fields, types, patterns and defaults as Flux's source-controller serves,
// so Flux manifests work against it; the schema text is our own.
import {
  agePrinterColumn,
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
  type CustomResourceDefinition,
  type JsonSchema,
} from './crd-schema.ts';
import { durationPattern, shortDurationPattern } from './duration.ts';
import { artifact } from './gitrepository-crd.ts';
import { OCIRepositoryApi, defaultOciTimeout } from './ocirepository.ts';
import { Annotation, AnnotationValue } from './meta.ts';

const layerSelector = objectField('Which layer of the artifact to take, and how.', {
  mediaType: stringField('Media type of the layer; the first layer when empty.'),
  operation: enumField('extract (the default) unpacks the tar.gz layer; copy stores it as it is.', [
    'extract',
    'copy',
  ]),
});

const spec: JsonSchema = objectField(
  'Which OCI artifact to fetch, how often, and with which credentials.',
  {
    url: stringField('Repository address, oci://<host>/<repository>, without a tag.', {
      pattern: '^oci://.*$',
    }),
    ref: objectField('The artifact to fetch; the latest tag when none is set.', {
      digest: stringField('Manifest digest, sha256:<hex>; wins over semver and tag.'),
      semver: stringField('Semantic version range: the highest matching tag is fetched; wins over tag.'),
      semverFilter: stringField('Regular expression the tags must match before semver picks.'),
      tag: stringField('Tag to fetch.'),
    }),
    layerSelector,
    provider: {
      ...enumField('Who authenticates the fetch; generic uses secretRef.', [
        'generic',
        'aws',
        'azure',
        'gcp',
      ]),
      default: 'generic',
    },
    secretRef: localRefField('A kubernetes.io/dockerconfigjson Secret with the registry credentials.'),
    verify: objectField(
      'Check the signature of the artifact.',
      {
        provider: { ...enumField('Signature scheme.', ['cosign', 'notation']), default: 'cosign' },
        secretRef: localRefField('Secret with the trusted public keys.'),
      },
      ['provider'],
    ),
    serviceAccountName: stringField('ServiceAccount whose image pull secrets or identity authenticate.'),
    certSecretRef: localRefField('Secret with ca.crt, and tls.crt and tls.key for mutual TLS.'),
    proxySecretRef: localRefField('Secret with the proxy address, username and password.'),
    interval: stringField('How often to look for a new digest, as a Go duration (ms, s, m, h).', {
      pattern: durationPattern,
    }),
    timeout: stringField('Limit for the registry operations, as a Go duration (ms, s, m).', {
      pattern: shortDurationPattern,
      default: defaultOciTimeout,
    }),
    ignore: stringField('Patterns in .gitignore format left out of the artifact, replacing the defaults.'),
    insecure: booleanField('Talk to the registry over plain HTTP.'),
    suspend: booleanField('Stop fetching until set back to false.'),
  },
  ['interval', 'url'],
);

const status = objectField('What the source reconciler last observed and produced.', {
  observedGeneration: int64Field('The metadata.generation last reconciled; -1 before the first reconcile.'),
  conditions: conditionsField('Ready, Reconciling, Stalled, ArtifactInStorage, FetchFailed and friends.'),
  url: stringField('Address of the latest artifact.'),
  artifact,
  observedIgnore: stringField('The ignore patterns the current artifact was built with.'),
  observedLayerSelector: layerSelector,
  lastHandledReconcileAt: stringField('The last reconcile.fluxcd.io/requestedAt value acted on.'),
});

export function ociRepositoryCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: crdName(OCIRepositoryApi),
      labels: { ...crdLabels },
      annotations: { [Annotation.substitute]: AnnotationValue.disabled },
    },
    spec: {
      group: OCIRepositoryApi.group,
      names: crdNames(OCIRepositoryApi),
      scope: 'Namespaced',
      versions: [
        {
          name: OCIRepositoryApi.version,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: rootSchema('An OCI artifact fetched into a versioned artifact.', spec, status),
          },
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'URL', type: 'string', jsonPath: '.spec.url' },
            ...readyPrinterColumns,
            agePrinterColumn,
          ],
        },
      ],
    },
  };
}
