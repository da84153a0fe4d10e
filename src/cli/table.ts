// Flux's table layout, hex truncation and ages (Kubernetes' HumanDuration), as `flux get` and `flux events`
// print them.

// SHA-1 to SHA-512 in hex, as a whole word (Flux's internal/utils/hex.go).
const hexRun = /\b[a-f0-9]{40,128}\b/g;

/** Cuts every run of 40 to 128 hex characters to its first 8: `main@sha1:67e2c98a`. */
export function truncateHex(text: string): string {
  return text.replace(hexRun, (hex) => hex.slice(0, 8));
}

const displayWidth = (text: string): number => [...text].length;
const padRight = (text: string, width: number): string =>
  text + ' '.repeat(Math.max(0, width - displayWidth(text)));

/** tablewriter's header formatting (SetAutoFormatHeaders): underscores become spaces, then upper case. */
const headerTitle = (header: string): string => header.replaceAll('_', ' ').trim().toUpperCase();

/**
 * Flux's table (pkg/printers/table_printer.go: olekukonko/tablewriter, no borders, tab padding): every cell is
 * padded with spaces to its column's width; header cells are followed by a tab, the last one by a space; row
 * cells are all followed by a tab. A cell with newlines spans several lines, the other cells padding below it.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  const widen = (column: number, lines: readonly string[]) => {
    for (const line of lines) widths[column] = Math.max(widths[column] ?? 0, displayWidth(line));
  };
  header.forEach((cell, column) => widen(column, cell.split('\n')));
  const rowLines = rows.map((row) => row.map((cell) => cell.split('\n')));
  for (const row of rowLines) row.forEach((lines, column) => widen(column, lines));

  let out = '';
  if (header.length > 0) {
    header.forEach((cell, column) => {
      const last = column === header.length - 1;
      out += padRight(headerTitle(cell), widths[column] ?? 0) + (last ? ' ' : '\t');
    });
    out += '\n';
  }
  for (const row of rowLines) {
    const height = Math.max(...row.map((lines) => lines.length));
    for (let line = 0; line < height; line++) {
      // tablewriter fills the missing lines of a shorter cell with two spaces.
      out += row.map((lines, column) => padRight(lines[line] ?? '  ', widths[column] ?? 0) + '\t').join('');
      out += '\n';
    }
  }
  return out;
}
