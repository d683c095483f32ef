/** Joins a base URL and a path without doubling or losing the slash. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}

/** Query parameters whose values are masked when a URL is shown: they usually carry credentials. */
const secretParam = /token|key|pass|secret|auth|signature|sig$|credential|session|jwt|bearer/i;

/**
 * A URL as it may be shown to people, logs and metrics: userinfo (`user:password@`) and the values
 * of query parameters that look like secrets become `***`. The text is otherwise kept as written
 * (no normalisation), so messages still read like the configured URL. The request itself uses
 * the real URL; only what is displayed goes through here.
 */
export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)([\s\S]*)$/i.exec(url);
  if (!m) return url;
  const [, scheme = '', authority = '', rest = ''] = m;
  const at = authority.lastIndexOf('@');
  const host = at >= 0 ? `***@${authority.slice(at + 1)}` : authority;
  const hash = rest.indexOf('#');
  const beforeHash = hash >= 0 ? rest.slice(0, hash) : rest;
  const q = beforeHash.indexOf('?');
  if (q < 0) return scheme + host + rest;
  const query = beforeHash
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      let key = pair.slice(0, eq);
      try {
        key = decodeURIComponent(key);
      } catch {
        // a malformed escape: judge the key as written
      }
      return secretParam.test(key) && eq < pair.length - 1 ? `${pair.slice(0, eq)}=***` : pair;
    })
    .join('&');
  return scheme + host + beforeHash.slice(0, q + 1) + query + (hash >= 0 ? rest.slice(hash) : '');
}

/** Free text with every URL in it passed through redactUrl: for messages that quote URLs. */
export function redactText(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi, (url) => redactUrl(url));
}
