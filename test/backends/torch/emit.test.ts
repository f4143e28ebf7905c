import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emitTorch } from "../../../compiler/backends/torch/emit.js";
import { probeFor } from "../../../compiler/backends/torch/probe.js";
import { buildNetwork, loadProgram, pickNetwork } from "../../../compiler/language/program.js";
import { expectGolden } from "../../golden.js";
import { mustBuild, runCli } from "../../helpers.js";
import { inCI, needPython, python, pythonProblem, repo } from "./python.js";

const problem = pythonProblem("torch");

function moduleOf(spec: string, network?: string): string {
  const file = join(repo, "specs", spec);
  const program = loadProgram(file);
  const net = pickNetwork(program, network);
  if ("code" in net) throw new Error(net.message);
  const r = buildNetwork(program, net, []);
  if (!r.ok) throw new Error(r.diagnostics[0]!.message);
  return emitTorch(r.graph, { source: `specs/${spec}`, probe: probeFor(program, net, []) });
}

describe("compile --target torch", () => {
  it("writes mini_xception as the golden module, the same text every time", () => {
    const text = moduleOf("mini_xception.arch");
    expectGolden(join(repo, "test", "golden", "torch", "mini_xception.py.txt"), text);
    expect(moduleOf("mini_xception.arch")).toBe(text);
  });

  it("keeps as constructor parameters exactly the arguments that only move groups, units, rates or activations", () => {
    const x = moduleOf("xception.arch");
    expect(x).toContain(
      'def __init__(\n        self,\n        classes: int = 1000,\n        parts: Union[int, str] = "depthwise",\n        mid: str = "none",\n        dropout: float = 0.5,\n        logits: bool = False,\n    ):',
    );
    // The others change shapes or structure: named, with their values, in the docstring.
    expect(x).toMatch(/size = 299: it changes the network's structure or shapes/);
    expect(x).toMatch(/residual = True: it changes the network's structure or shapes/);
    // One class per block structure: the two non-first entry blocks share Entry2.
    expect(x).toContain("self.entry_1 = Entry2(128, 256, mid=mid, parts=parts)");
    expect(x).toContain("self.entry_2 = Entry2(256, 728, mid=mid, parts=parts)");
    expect(x.match(/^class Middle\(/gm)).toHaveLength(1);
    // Inception V3's classifier follows classes; its dropout = 0 adds a layer when raised.
    const i = moduleOf("inception_v3.arch");
    expect(i).toContain("def __init__(self, classes: int = 1000, logits: bool = False):");
    expect(i).toMatch(/dropout = 0: it changes the network's structure or shapes/);
  });

  it("writes every spec without probing (a graph alone) in the same layers", () => {
    const text = emitTorch(
      mustBuild("network n { input 9x9x2\n conv 3x3/2 4 parts=2 -> bn -> relu\n gap -> dense 3 }"),
    );
    expect(text).toContain('self.conv = Conv2d(2, 4, 3, stride=2, padding="same", groups=2)');
    expect(text).toContain("class N(nn.Module):");
  });

  it("refuses --weights without -o, and weights from a folder that holds none", async () => {
    const file = join(repo, "specs", "mini_xception.arch");
    const noOut = await runCli("compile", file, "--target", "torch", "--weights", "/tmp");
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toMatch(/give the module with -o model\.py/);
    const dir = mkdtempSync(join(tmpdir(), "archc-torch-compile-"));
    const none = await runCli(
      "compile",
      file,
      "--target",
      "torch",
      "--weights",
      dir,
      "-o",
      join(dir, "m.py"),
    );
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      /holds no weights archc knows: neither a run \(manifest\.json, checkpoint\.bin\), a tfjs model \(model\.json\) nor weights\.safetensors/,
    );
  });

  it.skipIf(problem !== undefined && !inCI)(
    "a partition count that does not divide a layer is a ValueError naming the nearest valid ones",
    () => {
      needPython(problem);
      const dir = mkdtempSync(join(tmpdir(), "archc-torch-parts-"));
      writeFileSync(join(dir, "x.py"), moduleOf("xception.arch"));
      const r = spawnSync(
        python,
        ["-c", "import sys; sys.path.insert(0, sys.argv[1]); import x; x.Xception(parts=5)", dir],
        { encoding: "utf8" },
      );
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split("\n").pop()).toBe(
        "ValueError: 64 input channels are not divisible by parts = 5; the nearest valid values are 4 and 8",
      );
      expect(readFileSync(join(dir, "x.py"), "utf8")).toContain("def groups_of(");
    },
  );

  it.skipIf(problem !== undefined && !inCI)(
    "returns probabilities by default and logits with logits=True, so nn.CrossEntropyLoss applies one softmax",
    () => {
      needPython(problem);
      const dir = mkdtempSync(join(tmpdir(), "archc-torch-logits-"));
      const text = emitTorch(
        mustBuild(
          "network n(classes = 3) { input 6x6x2\n conv 3x3 4 -> bn -> relu\n gap -> dense classes softmax }",
        ),
      );
      // The default and the CrossEntropyLoss trap are written next to each other.
      expect(text).toMatch(/Returns softmax probabilities.*nn\.CrossEntropyLoss applies a softmax/);
      writeFileSync(join(dir, "n.py"), text);
      const script = [
        "import sys, torch; sys.path.insert(0, sys.argv[1]); import n",
        "torch.manual_seed(0)",
        "probs, raw = n.N(), n.N(logits=True)",
        "raw.load_state_dict(probs.state_dict())",
        "probs.eval(); raw.eval()",
        "x, y = torch.rand(5, 2, 6, 6), torch.tensor([0, 1, 2, 0, 1])",
        "p, z = probs(x), raw(x)",
        "assert torch.allclose(p.sum(1), torch.ones(5)), p.sum(1)",
        "assert not torch.allclose(z.sum(1), torch.ones(5))",
        "assert torch.allclose(torch.softmax(z, 1), p, atol=1e-6)",
        "ce = torch.nn.CrossEntropyLoss()",
        "nll = torch.nn.NLLLoss()(torch.log(p), y)",
        "print(abs(ce(z, y).item() - nll.item()), abs(ce(p, y).item() - nll.item()))",
      ].join("\n");
      const r = spawnSync(python, ["-c", script, dir], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const [right, twice] = r.stdout.trim().split(" ").map(Number);
      // On logits, CrossEntropyLoss is the probabilities' NLL; on probabilities it is not.
      expect(right).toBeLessThan(1e-6);
      expect(twice).toBeGreaterThan(1e-3);
      // A network whose output is not a softmax has no such flag.
      expect(emitTorch(mustBuild("network m { input 6x6x2\n gap -> dense 3 }"))).not.toMatch(
        /logits/,
      );
    },
  );
});
