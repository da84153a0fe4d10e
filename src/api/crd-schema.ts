// Building blocks for our CustomResourceDefinitions: the CRD object shape and small constructors for structural
// OpenAPI v3 schemas (every node typed, free-form content only where it is marked so), so that each kind's CRD
// reads as a list of fields.
import { sluiceVersion } from '../version.ts';
import type { ApiType } from './meta.ts';

export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  format?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema;
  items?: JsonSchema;
  required?: string[];
  enum?: string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  default?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-validations'?: { rule: string; message: string }[];
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'date' | 'integer' | 'number' | 'boolean';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  schema: { openAPIV3Schema: JsonSchema };
  subresources: { status: Record<string, never> };
  additionalPrinterColumns: PrinterColumn[];
}

/** A CRD as sent to the API server; the index signature lets generic object code (apply, diff) take it. */
export interface CustomResourceDefinition {
  [key: string]: unknown;
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Namespaced' | 'Cluster';
    conversion?: { strategy: 'None' };
    versions: CrdVersion[];
  };
}

/**
 * Labels on every CRD sluice installs. Flux's tools find a Flux install by `part-of: flux` (`flux check` lists
 * the CRDs by it, `flux uninstall` deletes by it), and `flux check` and `flux version` print
 * `<part-of>-<version>` of the GitRepository CRD as the distribution: `flux-sluice-v0.1.0`.
 */
export const crdLabels = {
  'app.kubernetes.io/part-of': 'flux',
  'app.kubernetes.io/managed-by': 'sluice',
  'app.kubernetes.io/version': `sluice-v${sluiceVersion}`,
} as const;

export function crdName(api: ApiType): string {
  return `${api.plural}.${api.group}`;
}

export function crdNames(api: ApiType): CustomResourceDefinition['spec']['names'] {
  return {
    kind: api.kind,
    listKind: api.listKind,
    plural: api.plural,
    singular: api.singular,
    shortNames: [...api.shortNames],
    categories: [...api.categories],
  };
}

export function objectField(
  description: string,
  properties: Record<string, JsonSchema>,
  required?: string[],
): JsonSchema {
  return { type: 'object', description, properties, ...(required?.length ? { required } : {}) };
}

export function stringField(
  description: string,
  constraints: Omit<JsonSchema, 'type' | 'description'> = {},
): JsonSchema {
  return { type: 'string', description, ...constraints };
}

export function booleanField(description: string, constraints: Pick<JsonSchema, 'default'> = {}): JsonSchema {
  return { type: 'boolean', description, ...constraints };
}

export function int64Field(description: string): JsonSchema {
  return { type: 'integer', format: 'int64', description };
}

export function arrayField(description: string, items: JsonSchema): JsonSchema {
  return { type: 'array', description, items };
}

export function stringMapField(description: string): JsonSchema {
  return { type: 'object', description, additionalProperties: { type: 'string' } };
}

export function enumField(description: string, values: readonly string[]): JsonSchema {
  return { type: 'string', description, enum: [...values] };
}

/** A reference by name to an object in the referrer's namespace. */
export function localRefField(description: string): JsonSchema {
  return objectField(description, { name: stringField('Name of the referenced object.') }, ['name']);
}

/** A metav1.Condition list, with the constraints Kubernetes itself puts on conditions. */
export function conditionsField(description: string): JsonSchema {
  return arrayField(
    description,
    objectField(
      'One aspect of the current state, in the standard Kubernetes condition shape.',
      {
        type: stringField(
          'Condition type in CamelCase, optionally prefixed with a DNS subdomain and a slash.',
          {
            maxLength: 316,
            pattern:
              '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
          },
        ),
        status: enumField('Whether the condition holds.', ['True', 'False', 'Unknown']),
        observedGeneration: {
          ...int64Field('The metadata.generation the condition was computed for.'),
          minimum: 0,
        },
        lastTransitionTime: stringField('When status, reason or message last changed.', {
          format: 'date-time',
        }),
        reason: stringField('Machine-readable CamelCase cause of the last transition.', {
          minLength: 1,
          maxLength: 1024,
          pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
        }),
        message: stringField('Human-readable details of the last transition.', { maxLength: 32768 }),
      },
      ['lastTransitionTime', 'message', 'reason', 'status', 'type'],
    ),
  );
}

const readyColumn = '.status.conditions[?(@.type=="Ready")]';

/** `kubectl get` columns shared by both kinds: Age, the Ready condition's status, and its message. */
export const agePrinterColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
};
export const readyPrinterColumns: PrinterColumn[] = [
  { name: 'Ready', type: 'string', jsonPath: `${readyColumn}.status` },
  { name: 'Status', type: 'string', jsonPath: `${readyColumn}.message` },
];

/** The root of a kind's schema: apiVersion, kind, metadata, spec and a status that defaults to generation -1. */
export function rootSchema(description: string, spec: JsonSchema, status: JsonSchema): JsonSchema {
  return objectField(description, {
    apiVersion: stringField('Versioned schema of this object.'),
    kind: stringField('REST kind of this object.'),
    metadata: { type: 'object' },
    spec,
    status: { ...status, default: { observedGeneration: -1 } },
  });
}
