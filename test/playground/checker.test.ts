/// <reference lib="dom" />
import { describe, expect, it } from "vitest";
import { Checker, StaleAnswer, type Port } from "../../playground/src/checker.js";
import type { Checked, Figures, Reply, Request } from "../../playground/src/protocol.js";
import type { PlaygroundState } from "../../playground/src/session.js";

/** A worker that answers when the test says so, recording what the page sent it. */
class FakeWorker implements Port {
  sent: Request[] = [];
  onmessage: ((e: MessageEvent<Reply>) => void) | null = null;
  postMessage(message: Request): void {
    this.sent.push(message);
  }
  reply(r: Reply): void {
    this.onmessage!({ data: r } as MessageEvent<Reply>);
  }
  checks(): number[] {
    return this.sent.flatMap((m) => (m.kind === "check" ? [m.version] : []));
  }
}

const state = (text: string): PlaygroundState => ({ path: "/specs/x.arch", text, set: [] });
const checked = (version: number): Reply => ({
  kind: "checked",
  version,
  file: "specs/x.arch",
  diagnostics: [],
  ms: 1,
});
const figures = (version: number): Reply => ({
  kind: "figures",
  version,
  graph: undefined,
  reason: "r",
  network: undefined,
  networks: [],
  axes: [],
  inlays: [],
});

function setup() {
  const worker = new FakeWorker();
  const shown: Checked[] = [];
  const drawn: Figures[] = [];
  const crashes: string[] = [];
  const checker = new Checker(worker, {
    checked: (c) => shown.push(c),
    figures: (f) => drawn.push(f),
    crashed: (e) => crashes.push(e),
  });
  return { worker, checker, shown, drawn, crashes };
}

describe("the page's end of the checking worker", () => {
  it("keeps one check in the worker and sends only the newest text typed meanwhile", () => {
    const { worker, checker } = setup();
    expect(checker.check(state("a"))).toBe(1);
    checker.check(state("ab"));
    checker.check(state("abc"));
    expect(worker.checks()).toEqual([1]);
    worker.reply(checked(1));
    // Version 2 was overtaken while it waited: it is never checked.
    expect(worker.checks()).toEqual([1, 3]);
    const last = worker.sent.at(-1)!;
    expect(last.kind === "check" && last.state.text).toBe("abc");
    worker.reply(checked(3));
    expect(worker.checks()).toEqual([1, 3]);
  });

  it("drops diagnostics and figures of any text but the newest", () => {
    const { worker, checker, shown, drawn } = setup();
    checker.check(state("a"));
    checker.check(state("ab"));
    worker.reply(checked(1));
    worker.reply(figures(1));
    expect(shown).toEqual([]);
    expect(drawn).toEqual([]);
    worker.reply(checked(2));
    worker.reply(figures(2));
    expect(shown.map((c) => c.version)).toEqual([2]);
    expect(drawn.map((f) => f.version)).toEqual([2]);
  });

  it("answers each question once, stale ones as StaleAnswer, failures as errors", async () => {
    const { worker, checker } = setup();
    const hover = checker.ask("hover", { version: 1, position: { line: 0, character: 0 } });
    const format = checker.ask("format", { text: "x" });
    const json = checker.ask("artefact", { version: 1, kind: "json" });
    const ids = worker.sent.map((m) => (m.kind === "ask" ? m.id : -1));
    expect(new Set(ids).size).toBe(3);
    worker.reply({ kind: "answer", id: ids[1]!, value: "formatted" });
    worker.reply({ kind: "failed", id: ids[0]!, error: "version 1", stale: true });
    worker.reply({ kind: "failed", id: ids[2]!, error: "the IR fails its schema", stale: false });
    await expect(format).resolves.toBe("formatted");
    await expect(hover).rejects.toBeInstanceOf(StaleAnswer);
    await expect(json).rejects.toThrow("the IR fails its schema");
    await expect(json).rejects.not.toBeInstanceOf(StaleAnswer);
  });

  it("goes on checking after the worker failed a check, and says so", () => {
    const { worker, checker, shown, crashes } = setup();
    checker.check(state("a"));
    checker.check(state("ab"));
    worker.reply({ kind: "crashed", error: "the check failed: boom" });
    expect(crashes).toEqual(["the check failed: boom"]);
    expect(worker.checks()).toEqual([1, 2]);
    worker.reply(checked(2));
    expect(shown.map((c) => c.version)).toEqual([2]);
  });
});
