// What every page script of the FLUX portal shares: the JSON API call and the count of requests in flight that the
// browser tests wait on (`body[data-pending]`). Plain JavaScript module, no build step.

let pending = 0;

/** Adds `delta` to the requests in flight and shows the count on the page body. */
export function busy(delta) {
  pending += delta;
  document.body.dataset.pending = String(pending);
}

/** One call of the portal's API: JSON in and out; a failed call throws with the server's one-line error. */
export async function api(method, url, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  const data = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(data.error || `${res.status} ${res.statusText}`);
  return data;
}
