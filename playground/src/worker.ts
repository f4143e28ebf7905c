/// <reference lib="webworker" />
import { parse } from "../../grammar/parse.js";
import { print } from "../../grammar/printer.js";
import { syntheticSpan } from "../../grammar/span.js";
import { buildNetwork, parseSets } from "../../compiler/language/program.js";
import { boundArg } from "../../compiler/language/variant.js";
import type { Analysis } from "../../compiler/services/analysis.js";
import { complete } from "../../compiler/services/completion.js";
import { hover } from "../../compiler/services/hover.js";
import { artefact } from "./artefacts.js";
import { continuum, valueLabel } from "./continuum.js";
import type { Answers, Questions, Reply, Request } from "./protocol.js";
import { check, figuresOf, type PlaygroundState } from "./session.js";

/**
 * The playground's checking worker: parsing, elaboration, diagnostics and every answer that
 * needs them run here, so typing in the page never waits for a check. It keeps the newest
 * analysis; a question about an older version is answered as stale.
 */
const scope = self as unknown as DedicatedWorkerGlobalScope;

let latest: { analysis: Analysis; state: PlaygroundState } | undefined;

class Stale extends Error {}

function post(reply: Reply): void {
  scope.postMessage(reply);
}

function runCheck(version: number, state: PlaygroundState): void {
  const t0 = performance.now();
  const analysis = check(state, version);
  const ms = performance.now() - t0;
  latest = { analysis, state };
  post({
    kind: "checked",
    version,
    file: analysis.program.loaded.root?.file ?? "",
    diagnostics: analysis.diagnostics,
    ms,
  });
  // The figures build the network once more: a newer check that arrived meanwhile goes first.
  setTimeout(() => {
    if (latest?.analysis !== analysis) return;
    post({ kind: "figures", ...figuresOf(analysis) });
  });
}

function current(version: number): NonNullable<typeof latest> {
  if (!latest || latest.analysis.version !== version) throw new Stale(`version ${version}`);
  return latest;
}

/** The network on screen, when it builds. */
function built(version: number) {
  const { analysis, state } = current(version);
  const f = analysis.figures();
  if (!f.ok) throw new Error(f.reason);
  return { ...f, program: analysis.program, state };
}

type Handlers = {
  [K in keyof Questions]: (args: Questions[K]) => Answers[K] | Promise<Answers[K]>;
};

const answer: Handlers = {
  hover: ({ version, position }) => hover(current(version).analysis, position),
  complete: ({ text, position }) => complete(latest?.analysis, text, position),
  format({ text }) {
    const parsed = parse("spec.arch", text);
    return parsed.diagnostics.length ? null : print(parsed.program, parsed.comments);
  },
  continuum({ version, axis }) {
    const b = built(version);
    return continuum(b.program, b.network, axis, b.state.set);
  },
  variant({ version, axis, value }) {
    const b = built(version);
    const base = parseSets(b.state.set).args.filter((a) => a.name !== axis);
    const r = buildNetwork(b.program, b.network, [
      ...base,
      boundArg(axis, value, syntheticSpan(`${axis}=${valueLabel(value)}`)),
    ]);
    return r.ok ? r.graph : null;
  },
  artefact({ version, kind }) {
    const b = built(version);
    return artefact(kind, {
      graph: b.graph,
      program: b.program,
      network: b.network,
      set: b.state.set,
      file: b.state.path.replace(/^\//, ""),
    });
  },
};

async function ask(id: number, run: () => unknown): Promise<void> {
  try {
    post({ kind: "answer", id, value: await run() });
  } catch (e) {
    post({ kind: "failed", id, error: (e as Error).message, stale: e instanceof Stale });
  }
}

scope.onmessage = (e: MessageEvent<Request>) => {
  const r = e.data;
  if (r.kind === "check") {
    try {
      runCheck(r.version, r.state);
    } catch (err) {
      post({ kind: "crashed", error: `the check failed: ${(err as Error).message}` });
    }
    return;
  }
  const handler = answer[r.question] as (args: unknown) => unknown;
  void ask(r.id, () => handler(r.args));
};
