// Classified git failures: the reconciler turns `kind` into a FetchFailed condition reason, and the message is
// safe to show (no credentials, the URL without user info).

export type GitErrorKind =
  'AuthenticationFailed' | 'URLInvalid' | 'RefNotFound' | 'GitOperationFailed' | 'Timeout';

export class GitError extends Error {
  readonly kind: GitErrorKind;
  /** The repository URL as shown in messages: no password, no user info for http(s). */
  readonly url: string;

  constructor(kind: GitErrorKind, message: string, url: string) {
    super(message);
    this.name = 'GitError';
    this.kind = kind;
    this.url = url;
  }
}

const REDACTED = '***';

/** Replaces every secret value, and any `user:password@` in a URL, with `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(/(\/\/)[^/@\s]*:[^/@\s]*@/g, `$1${REDACTED}@`);
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...secrets].filter((s) => s !== '').sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join(REDACTED);
  }
  return out;
}
