import { InputError } from '../../errors.js';

/**
 * Turns what a user passes to `--endpoint` into the API base URL that request paths are appended to.
 * People paste every variant ("http://h:8000", "http://h:8000/", "http://h:8000/v1/"), so a base without
 * a `/v1` path segment at the end gets one; a prefix before it (a proxy's `/openai/v1`) is kept.
 * Credentials in the URL are refused: they would end up in logs and metadata, which `--api-key-env` avoids.
 */
export function normaliseEndpoint(raw: string): URL {
  const text = raw.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new InputError(`--endpoint ${JSON.stringify(raw)} is not a URL; write it as http://host:port/v1`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InputError(`--endpoint ${JSON.stringify(raw)} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError(`--endpoint ${JSON.stringify(raw)} must use http or https, not ${url.protocol.slice(0, -1)}`);
  }
  if (url.username || url.password) {
    throw new InputError(`--endpoint must not carry credentials; put the key in an env var named by --api-key-env`);
  }
  if (url.search || url.hash) {
    throw new InputError(`--endpoint ${JSON.stringify(raw)} must not have a query string or fragment`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith('/v1') ? path : `${path}/v1`;
  return url;
}

/** The URL of one API route (`completions`, `chat/completions`) under a normalised base. */
export function routeUrl(base: URL, route: string): URL {
  return new URL(`${base.pathname}/${route}`, base);
}
