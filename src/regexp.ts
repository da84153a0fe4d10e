// Regular expressions that tenants write (OCIRepository semverFilter, spec.ignore target selectors), in Go's
// syntax and matched in linear time by an RE2 engine, as Flux's Go code matches them: a JavaScript RegExp can
// backtrack for minutes on a crafted pattern and a tag a registry chooses, and this process has one thread.
import { RE2JS } from '@bufbuild/re2';

export interface Pattern {
  /** Whether the pattern matches anywhere in `text` (anchor it with ^ and $ to match all of it). */
  test(text: string): boolean;
}

/** `source` compiled; throws Go's own message ("error parsing regexp: …") for what RE2 does not accept. */
export function compilePattern(source: string): Pattern {
  const compiled = RE2JS.compile(source);
  return { test: (text) => compiled.test(text) };
}
