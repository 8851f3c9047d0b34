/** A URL fit for logs: no user or password, query values masked (tokens often ride there). */
export function redactUrl(url: string | URL): string {
  const copy = new URL(url);
  copy.username = '';
  copy.password = '';
  for (const key of [...new Set(copy.searchParams.keys())]) copy.searchParams.set(key, 'REDACTED');
  return copy.href;
}
