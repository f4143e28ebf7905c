import { PassThrough } from "node:stream";
import {
  createConnection,
  createProtocolConnection,
  ProposedFeatures,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-languageserver/node";
import { watchDiagnostics, type DiagnosticsWatch } from "./diagnosticsWatch.js";
import { startServer } from "./server.js";

/**
 * A server and a client joined by in-memory streams, speaking the real protocol (JSON-RPC
 * framing included): what the tests and `npm run bench -- lsp` drive the server through.
 */
export interface LspSession extends DiagnosticsWatch {
  request<R>(method: string, params: unknown): Promise<R>;
  notify(method: string, params: unknown): Promise<void>;
  close(): Promise<void>;
}

export async function connectInMemory(
  initializationOptions: unknown = {},
  capabilities: Record<string, unknown> = {},
): Promise<LspSession> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const server = createConnection(
    ProposedFeatures.all,
    new StreamMessageReader(toServer),
    new StreamMessageWriter(toClient),
  );
  startServer(server);
  const client = createProtocolConnection(
    new StreamMessageReader(toClient),
    new StreamMessageWriter(toServer),
  );
  const watch = watchDiagnostics(client);
  client.listen();
  await client.sendRequest("initialize", {
    processId: null,
    rootUri: null,
    capabilities,
    initializationOptions,
  });
  await client.sendNotification("initialized", {});
  return {
    request: <R>(method: string, params: unknown) =>
      client.sendRequest(method, params) as Promise<R>,
    notify: (method, params) => client.sendNotification(method, params),
    ...watch,
    close: async () => {
      await client.sendRequest("shutdown", null);
      client.dispose();
      server.dispose();
      toServer.end();
      toClient.end();
    },
  };
}
