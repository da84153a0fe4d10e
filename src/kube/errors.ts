// API errors as the server reported them (a metav1.Status), so callers branch on reason and users read the
// server's own message and field causes.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
}

export type ErrorReason =
  | 'Invalid'
  | 'Conflict'
  | 'AlreadyExists'
  | 'NotFound'
  | 'Forbidden'
  | 'Unauthorized'
  | 'Gone'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'Unknown';

const reasonByCode: Record<number, ErrorReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: ErrorReason;
  readonly causes: StatusCause[];
  readonly status: Status | undefined;

  constructor(code: number, reason: ErrorReason, message: string, status?: Status) {
    super(message);
    this.name = 'KubeApiError';
    this.code = code;
    this.reason = reason;
    this.causes = status?.details?.causes ?? [];
    this.status = status;
  }

  /** Builds the error from an HTTP response; `request` ("PATCH /apis/...") is named when the body says nothing. */
  static fromResponse(code: number, body: string, request: string): KubeApiError {
    const status = parseStatus(body);
    const message = status?.message || body.trim().slice(0, 500) || `${request}: HTTP ${code}`;
    return new KubeApiError(code, reasonOf(code, status), message, status);
  }

  /** The error a watch's ERROR event carries (a 410 "Expired" is Gone, as its code says). */
  static fromStatus(status: Status, request: string): KubeApiError {
    const code = status.code ?? 500;
    return new KubeApiError(
      code,
      reasonOf(code, status),
      status.message || `${request}: HTTP ${code}`,
      status,
    );
  }
}

function parseStatus(body: string): Status | undefined {
  try {
    const parsed = JSON.parse(body) as Status;
    return parsed && parsed.kind === 'Status' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const knownReasons = new Set<string>([...Object.values(reasonByCode), 'AlreadyExists']);

/** The status's own reason when it is one we know, else the one its HTTP code stands for. */
function reasonOf(code: number, status: Status | undefined): ErrorReason {
  const reason = status?.reason;
  return reason && knownReasons.has(reason) ? (reason as ErrorReason) : (reasonByCode[code] ?? 'Unknown');
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeApiError && e.reason === 'NotFound';
export const isConflict = (e: unknown): boolean =>
  e instanceof KubeApiError && (e.reason === 'Conflict' || e.reason === 'AlreadyExists');
export const isInvalid = (e: unknown): boolean => e instanceof KubeApiError && e.reason === 'Invalid';
export const isGone = (e: unknown): boolean => e instanceof KubeApiError && e.reason === 'Gone';
export const isForbidden = (e: unknown): boolean => e instanceof KubeApiError && e.reason === 'Forbidden';

/**
 * An API answer that is about who asks, said with what to check, as kubectl's and flux's are: a 401 names the
 * user and server whose credentials were refused, a 403 adds whose RBAC to look at. Other errors are kept.
 */
export function explainForUser(
  error: unknown,
  identity: { context: string; user: string; server: string },
): unknown {
  if (!(error instanceof KubeApiError)) return error;
  const who = `user "${identity.user}" of context "${identity.context}" at ${identity.server}`;
  if (error.code === 401) {
    return new Error(
      `the Kubernetes API refused the credentials of ${who} (401 Unauthorized): they may have expired; log in again or fix the user in the kubeconfig`,
      { cause: error },
    );
  }
  if (error.code === 403) {
    return new Error(`${error.message} (as ${who}: check its RBAC, e.g. kubectl auth can-i)`, {
      cause: error,
    });
  }
  return error;
}
