// A worker thread of `archc lsp`: the language services for the documents the server gives it,
// so that a long check of one document never holds up the answers for another.
import { parentPort } from "node:worker_threads";
import { DocumentService, type ToService } from "./service.js";

const port = parentPort!;
const service = new DocumentService((m) => port.postMessage(m));
port.on("message", (m: ToService) => service.receive(m));
