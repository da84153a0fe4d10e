// The message of anything thrown: an Error's own message, else the value as text.
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What is wrong with a Secret's text, told without any of that text: YAML's description and position, or JSON's
 * position, never the excerpt both parsers add (it would carry the value into a status, an event and an alert).
 */
export function parseErrorWithoutText(error: unknown): string {
  const linePos = (error as { linePos?: { line: number; col: number }[] }).linePos?.[0];
  const message = errorMessage(error);
  if (linePos) {
    const description = message.split('\n', 1)[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? 'not valid';
    return `${description} at line ${linePos.line}, column ${linePos.col}`;
  }
  const position = /position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(message);
  if (position?.[2]) return `not valid JSON at line ${position[2]}, column ${position[3]}`;
  if (position) return `not valid JSON at position ${position[1]}`;
  return /JSON/.test(message) ? 'not valid JSON' : 'not valid';
}
