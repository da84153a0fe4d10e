/** Cuts text to at most `maxBytes` UTF-8 bytes, marking the cut with "...", without splitting a character. */
export function truncateBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= maxBytes) return text;
  return (
    bytes
      .subarray(0, maxBytes - 3)
      .toString()
      .replace(/\uFFFD$/, '') + '...'
  );
}
