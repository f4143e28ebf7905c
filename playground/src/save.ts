import type { Artefact } from "./protocol.js";

/** Hands an artefact to the browser as a file download. */
export function saveAs(a: Artefact): void {
  const blob = new Blob([a.data as BlobPart], { type: a.type });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = a.name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
