import { describe, expect, it } from "vitest";
import { torchOptions } from "../../../compiler/lab/torch/options.js";

describe("torch engine options", () => {
  it("the torch engine's flags need --engine torch", () => {
    expect(torchOptions({ nproc: "2" })).toBe("--nproc is an option of --engine torch");
  });

  it("the embedded trainer's flags are refused with --engine torch, not ignored", () => {
    for (const [o, flag] of [
      [{ patience: "3" }, "--patience"],
      [{ strategy: "blockdiag" }, "--strategy"],
      [{ checkpointSteps: "100" }, "--checkpoint-steps"],
      [{ checkpointMinutes: "1" }, "--checkpoint-minutes"],
    ] as const)
      expect(torchOptions({ engine: "torch", ...o })).toBe(
        `${flag} is an option of the embedded trainer, not of --engine torch`,
      );
  });

  it("the checkpoint flags' defaults, as commander passes them, are no objection", () => {
    expect(
      torchOptions({ engine: "torch", checkpointSteps: "0", checkpointMinutes: "5", nproc: "2" }),
    ).toEqual({ nproc: 2 });
  });
});
