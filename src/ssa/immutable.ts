// Which dry-run errors mean "this object cannot be changed in place", so force may recreate it. The same
// test as Flux and kubectl: 409 Conflict, 422 Invalid, or a message saying the field is immutable (CEL and
// webhooks answer that way with other codes).
import { KubeApiError } from '../kube/errors.ts';

const IMMUTABLE_MESSAGE = /is\simmutable|immutable\sfield/i;

export function isImmutableError(error: unknown): boolean {
  if (error instanceof KubeApiError && (error.code === 409 || error.code === 422)) return true;
  return error instanceof Error && IMMUTABLE_MESSAGE.test(error.message);
}
