// Flux's post-build substitution (spec.postBuild): each built object is written as YAML, `${var}` expressions
// are expanded in that text, and the result is parsed back, unless the object opts out with
// `kustomize.toolkit.fluxcd.io/substitute: disabled`. The caller runs this only when spec.postBuild is set.
import type { KubeObject } from '../kube/client.ts';
import { splitApiVersion } from '../kube/discovery.ts';
import { envsubst } from './envsubst.ts';
import { ManifestError, isMapping, parseYamlDocuments, toYaml } from './yaml.ts';

export const substituteKey = 'kustomize.toolkit.fluxcd.io/substitute';

// Written in errors as Flux writes it; [:alpha:] and [:digit:] are ASCII-only in Go's regexp.
const varNameRule = '^[_[:alpha:]][_[:alpha:][:digit:]]*$';
const varName = /^[_A-Za-z][_A-Za-z0-9]*$/;

export interface SubstituteOptions {
  /** Fail on `${var}` when var is unset and has no default (Flux's default since v1.9). Default true. */
  strict?: boolean;
  /** spec.postBuild.substituteStrategy: `Always` substitutes (so defaults apply) even with no variables. */
  substituteStrategy?: string;
}

/**
 * The variables of spec.postBuild: each substituteFrom source's data in list order (a later source overrides
 * an earlier one; Secret values already base64-decoded), then the inline `substitute` map over all of them.
 * Newlines are removed from every value, as Flux does.
 */
export function mergeVars(
  fromSources: readonly Readonly<Record<string, string>>[],
  inline: Readonly<Record<string, string>> = {},
): Map<string, string> {
  const vars = new Map<string, string>();
  for (const source of [...fromSources, inline]) {
    for (const [name, value] of Object.entries(source)) vars.set(name, value.replaceAll('\n', ''));
  }
  return vars;
}

/**
 * True when the object is labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled`, exactly so:
 * Flux compares the value case-sensitively, so `Disabled` does not opt out there either.
 */
export function isSubstitutionDisabled(object: KubeObject): boolean {
  const marks = [object.metadata?.labels?.[substituteKey], object.metadata?.annotations?.[substituteKey]];
  return marks.some((value) => value === 'disabled');
}

/**
 * Substitutes `vars` in every object that does not opt out. Nothing changes when there are no variables,
 * unless the strategy is `Always`. Errors read like Flux's:
 * `post build failed for 'Job.v1.batch/db-migration': envsubst error: …`.
 */
export function substituteVariables(
  objects: readonly KubeObject[],
  vars: ReadonlyMap<string, string>,
  options: SubstituteOptions = {},
): KubeObject[] {
  if (vars.size === 0 && options.substituteStrategy !== 'Always') return [...objects];
  const strict = options.strict ?? true;
  return objects.map((object) => {
    if (isSubstitutionDisabled(object)) return object;
    try {
      return substituteObject(object, vars, strict);
    } catch (error) {
      throw new Error(
        `post build failed for '${gvkOf(object)}/${object.metadata?.name ?? ''}': envsubst error: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  });
}

function substituteObject(
  object: KubeObject,
  vars: ReadonlyMap<string, string>,
  strict: boolean,
): KubeObject {
  for (const name of vars.keys()) {
    if (!varName.test(name)) throw new Error(`'${name}' var name is invalid, must match '${varNameRule}'`);
  }
  let text: string;
  try {
    text = envsubst(toYaml([object]), vars, { strict });
  } catch (error) {
    throw new Error(`variable substitution failed: ${(error as Error).message}`, { cause: error });
  }
  let documents;
  try {
    documents = parseYamlDocuments(text, 'substituted object');
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    throw new Error(`YAMLToJSON: yaml: line ${error.line}: ${error.reason}`, { cause: error });
  }
  const [document] = documents;
  if (!document || !isMapping(document.value)) {
    throw new Error(
      `YAMLToJSON: the substituted text is not an object: ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  return document.value as KubeObject;
}

/** The GVK as kustomize prints it in Flux's messages: `Kind.version.group`, `ConfigMap.v1.[noGrp]`. */
function gvkOf(object: KubeObject): string {
  const { group, version } = splitApiVersion(object.apiVersion ?? '');
  return `${object.kind || '[noKind]'}.${version || '[noVer]'}.${group || '[noGrp]'}`;
}
