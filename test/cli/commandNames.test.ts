import { describe, expect, it } from "vitest";
import { commandNames } from "../../compiler/cli/main.js";
import { runCli } from "../helpers.js";

// A run registers only the command it names (start-up, issue 26.5); the list it picks from must
// be every command there is, or a command would be missing from the tree that runs it.
describe("the commands a run may register alone", () => {
  it("are exactly the commands archc --help lists", async () => {
    const r = await runCli("--help");
    const listed = [...r.stdout.matchAll(/^ {2}([a-z]+)\b/gm)]
      .map((m) => m[1])
      .filter((n) => n !== "help");
    expect([...listed].sort()).toEqual([...commandNames].sort());
  });

  it("a command's help is the same registered alone", async () => {
    for (const name of commandNames) {
      const alone = await runCli(name, "--help");
      expect(alone.code, name).toBe(0);
      expect(alone.stdout, name).toContain(`Usage: archc ${name}`);
    }
  });
});
