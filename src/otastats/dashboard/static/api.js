// The Statistics API, called from the browser with the key kept in this tab's session storage.

export const KEY_ITEM = "otastats.key";

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? `${body.status}: ${body.error}` : `HTTP ${status}`);
    this.status = status;
  }
}

export function apiUrl(path, params) {
  const url = new URL(path, document.baseURI);
  for (const [name, value] of Object.entries(params || {})) url.searchParams.set(name, value);
  return url;
}

export async function call(key, url, accept) {
  const response = await fetch(url, {
    headers: { authorization: key, accept },
    cache: "no-store",
    credentials: "omit",
  });
  if (!response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    throw new ApiError(response.status, body);
  }
  return response;
}

export async function getJson(url) {
  const response = await call(sessionStorage.getItem(KEY_ITEM), url, "application/json");
  return response.json();
}
