import {
  PublishDiagnosticsNotification,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from "vscode-languageserver/node";

/** What the test clients (client.ts, processClient.ts) keep of the diagnostics a server publishes. */
export interface DiagnosticsWatch {
  /** Every diagnostics notification received, in order. */
  readonly published: PublishDiagnosticsParams[];
  /** Resolves with the next diagnostics published for `uri` that satisfy `accept`. */
  nextDiagnostics(
    uri: string,
    accept?: (p: PublishDiagnosticsParams) => boolean,
  ): Promise<PublishDiagnosticsParams>;
}

/** Records `client`'s diagnostics notifications; registered before the client listens. */
export function watchDiagnostics(client: ProtocolConnection): DiagnosticsWatch {
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
  return {
    published,
    nextDiagnostics: (uri, accept = () => true) =>
      new Promise((resolve) => waiting.push({ uri, accept, resolve })),
  };
}
