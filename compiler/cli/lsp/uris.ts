import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The path a document is checked at, or why its URI names no file archc can read. */
export type DocumentPath =
  { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

/**
 * Where a document lies. A `file:` URI is a local file; a URI of another scheme (an unsaved
 * buffer, a notebook cell) is checked as if it lay in the working directory; a file on another
 * host, or a URI that does not parse, has no path, and the document gets a diagnostic instead.
 */
export function documentPath(uri: string): DocumentPath {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    if (/^file:/i.test(uri)) return { ok: false, reason: `${uri} is not a valid file URL` };
    return unsaved(uri);
  }
  if (url.protocol !== "file:") return unsaved(uri);
  if (url.hostname !== "" && url.hostname !== "localhost") {
    return {
      ok: false,
      reason: `archc reads local files only, and ${uri} lies on host "${url.hostname}"; open it through a local path (where the share is mounted)`,
    };
  }
  try {
    return { ok: true, path: fileURLToPath(url) };
  } catch {
    // Node refuses an encoded "/" (%2F) or a NUL in a file URL's path: no file has that name.
    return {
      ok: false,
      reason: `${uri} names no local file (its path holds an encoded "/" or NUL); open the file by its path`,
    };
  }
}

function unsaved(uri: string): DocumentPath {
  return { ok: true, path: resolve(uri.replace(/[^\w.-]+/g, "_")) };
}
