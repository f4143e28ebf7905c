import { PassThrough } from "node:stream";
import {
  createConnection,
  createProtocolConnection,
  ProposedFeatures,
  PublishDiagnosticsNotification,
  StreamMessageReader,
  StreamMessageWriter,
  type PublishDiagnosticsParams,
} from "vscode-languageserver/node";
import { startServer } from "./server.js";

/**
 * A server and a client joined by in-memory streams, speaking the real protocol (JSON-RPC
 * framing included): what the tests and `npm run bench -- lsp` drive the server through.
 */
export interface LspSession {
  request<R>(method: string, params: unknown): Promise<R>;
  notify(method: string, params: unknown): Promise<void>;
  /** Resolves with the next diagnostics published for `uri` that satisfy `accept`. */
  nextDiagnostics(
    uri: string,
    accept?: (p: PublishDiagnosticsParams) => boolean,
  ): Promise<PublishDiagnosticsParams>;
  /** Every diagnostics notification received, in order. */
  readonly published: PublishDiagnosticsParams[];
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
  const published: PublishDiagnosticsParams[] = [];
  const waiting: {
    uri: string;
    accept: (p: PublishDiagnosticsParams) => boolean;
    resolve: (p: PublishDiagnosticsParams) => void;
  }[] = [];
  client.onNotification(PublishDiagnosticsNotification.type, (p) => {
    published.push(p);
    const i = waiting.findIndex((w) => w.uri === p.uri && w.accept(p));
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(p);
  });
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
    nextDiagnostics: (uri, accept = () => true) =>
      new Promise((resolve) => waiting.push({ uri, accept, resolve })),
    published,
    close: async () => {
      await client.sendRequest("shutdown", null);
      client.dispose();
      server.dispose();
      toServer.end();
      toClient.end();
    },
  };
}
