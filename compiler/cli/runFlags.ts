import { Option, type Command } from "commander";
import { checkBnMomentum, preciseBnModes, type PreciseBnMode } from "../lab/train/batchNorm.js";
import type { InputAdaptation } from "../lab/train/data/adapt.js";

/**
 * The flags that decide what a training run's numbers mean, shared by `train` and `sweep`:
 * batch-norm momentum and recalibration, the validation split, and input adaptation.
 */
export function addRunFlags(cmd: Command): Command {
  return cmd
    .option(
      "--bn-momentum <m>",
      "momentum of every batch norm's moving averages (default: the config's bn_momentum, else each layer's, Keras' 0.99)",
    )
    .addOption(
      new Option(
        "--precise-bn <mode>",
        "recompute batch-norm statistics on training images before each evaluation; auto: when the run is too short for its momentum",
      )
        .choices([...preciseBnModes])
        .default("auto"),
    )
    .option(
      "--val-split <fraction>",
      "fraction of the training examples held out (seeded by --seed) to validate on (IDX data such as fashion-mnist; 0: none)",
      "0.1",
    )
    .option("--resize", "resize images bilinearly to the network's input size where they differ")
    .option(
      "--repeat-channels",
      "repeat gray images' channel to the network's 3 where it wants RGB",
    );
}

export interface RunFlagsText {
  readonly bnMomentum?: string;
  readonly preciseBn?: string;
  readonly valSplit?: string;
  readonly resize?: boolean;
  readonly repeatChannels?: boolean;
}

export interface RunFlags {
  readonly bnMomentum?: number;
  readonly preciseBn: PreciseBnMode;
  readonly valSplit: number;
  readonly adapt?: InputAdaptation;
}

/** The flags as values, or the usage error to print. */
export function parseRunFlags(o: RunFlagsText): RunFlags | string {
  let bnMomentum: number | undefined;
  if (o.bnMomentum !== undefined) {
    bnMomentum = Number(o.bnMomentum);
    const bad =
      o.bnMomentum.trim() === "" ? `--bn-momentum needs a number` : checkBnMomentum(bnMomentum);
    if (bad) return bad;
  }
  const valSplit = Number(o.valSplit ?? "0.1");
  if (!(o.valSplit?.trim() !== "" && Number.isFinite(valSplit) && valSplit >= 0 && valSplit < 1))
    return `--val-split must be a fraction in [0, 1) of the training examples (e.g. 0.1; 0: no validation), not '${o.valSplit}'`;
  const adapt = {
    ...(o.resize ? { resize: true } : {}),
    ...(o.repeatChannels ? { repeatChannels: true } : {}),
  };
  return {
    ...(bnMomentum !== undefined ? { bnMomentum } : {}),
    preciseBn: (o.preciseBn ?? "auto") as PreciseBnMode,
    valSplit,
    ...(Object.keys(adapt).length ? { adapt } : {}),
  };
}
