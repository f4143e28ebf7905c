import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { optionalLayerTexts, prelude } from "../../../compiler/backends/torch/prelude.js";
import {
  moduleMembers,
  moduleNames,
  pyAttributeNames,
  pyBuiltins,
  pyDocstring,
  pyKeywords,
  pyParameterNames,
  pyString,
} from "../../../compiler/backends/torch/print.js";
import { inCI, needPython, python, pythonProblem } from "./python.js";

/**
 * The Python printer's word lists, held to the real thing: Python's keywords and builtins, every
 * public member of the installed torch's nn.Module, and the names the prelude defines (read by
 * Python's own parser), so none of them can go stale; and its literals, read back by Python.
 */
const problem = pythonProblem("torch");

function runPython(code: string, input = ""): string {
  const r = spawnSync(python, ["-c", code], { encoding: "utf8", input });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

const inspect = `
import ast, builtins, json, keyword, sys, torch
m = torch.nn.Module()
members = set(dir(torch.nn.Module)) | set(vars(m))
top = set()
for node in ast.parse(sys.stdin.read()).body:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        top.add(node.name)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        top.update((a.asname or a.name).split(".")[0] for a in node.names)
    elif isinstance(node, ast.Assign):
        top.update(t.id for t in node.targets)
    elif isinstance(node, ast.AnnAssign):
        top.add(node.target.id)
print(json.dumps({
    "keywords": keyword.kwlist + keyword.softkwlist,
    "builtins": [n for n in dir(builtins) if not n.startswith("_")],
    "members": sorted(n for n in members if not n.startswith("_")),
    "top": sorted(top),
}))
`;

describe("PyTorch names and literals", () => {
  it.skipIf(problem !== undefined && !inCI)(
    "the reserved lists cover Python's keywords and builtins, nn.Module's members and the prelude's names",
    () => {
      needPython(problem);
      const real = JSON.parse(
        runPython(inspect, [prelude, ...optionalLayerTexts()].join("\n\n")),
      ) as Record<"keywords" | "builtins" | "members" | "top", string[]>;
      expect(real.members).toContain("state_dict");
      expect(real.keywords.filter((k) => !pyKeywords.has(k))).toEqual([]);
      expect(real.builtins.filter((k) => !pyBuiltins.has(k))).toEqual([]);
      expect(real.members.filter((k) => !moduleMembers.has(k))).toEqual([]);
      expect([...moduleNames()].sort()).toEqual(real.top);
    },
  );

  it("attribute names are safe and unique: no keyword, member or leading underscore survives", () => {
    const given = ["to", "to_", "None", "_1", "m_1", "__init__", "conv", "conv", "training"];
    const ids = pyAttributeNames(given);
    expect(ids).toEqual([
      "to__",
      "to_",
      "None_",
      "m_1_",
      "m_1",
      "m__init__",
      "conv",
      "conv_",
      "training_",
    ]);
    expect(new Set(ids).size).toBe(ids.length);
    const params = pyParameterNames(["self", "super", "Dense", "parts", "F"]);
    expect([...params.values()]).toEqual(["self_", "super_", "Dense_", "parts", "F_"]);
  });

  it.skipIf(problem !== undefined && !inCI)(
    "strings and docstrings of any text read back as that text",
    () => {
      needPython(problem);
      const texts = [
        '"""; import os """',
        "\\N{BOGUS} \\",
        "a\u2028b\u2029c\u0000\u001b[31m\u202e\ud800 😀 é \r\n\t",
        "'''",
      ];
      const code = texts
        .map((t, i) => `s${i} = ${pyString(t)}\ndef f${i}():\n    ${pyDocstring(t, "    ")}\n`)
        .join("\n");
      const out = runPython(
        `${code}\nimport json\nprint(json.dumps([[s${texts.map((_, i) => i).join(", s")}], [${texts.map((_, i) => `f${i}.__doc__`).join(", ")}]], ensure_ascii=True))`,
      );
      const [strings, docs] = JSON.parse(out) as [string[], string[]];
      expect(strings).toEqual(texts);
      // A docstring keeps its lines (any line break is \n, the next line indented, and a last
      // line break before the closing quotes when there are several).
      expect(docs.map((d) => d.replace(/\n {4}/g, "\n").replace(/\n$/, ""))).toEqual(
        texts.map((t) => t.split(/\r\n|\r|\n/).join("\n")),
      );
    },
  );
});
