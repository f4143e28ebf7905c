import { checkBnMomentum, type PreciseBnMode } from "../lab/train/batchNorm.js";
import type { InputAdaptation } from "../lab/train/data/adapt.js";

/**
 * The flags that decide what a training run's numbers mean, shared by `train` and the experiment
 * commands (declared in options.ts): batch-norm momentum and recalibration, the validation split,
 * and input adaptation.
 */
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
      o.bnMomentum.trim() === "" ? "--bn-momentum needs a number" : checkBnMomentum(bnMomentum);
    if (bad) return bad;
  }
  const text = o.valSplit ?? "0.1";
  const valSplit = Number(text);
  if (!(text.trim() !== "" && Number.isFinite(valSplit) && valSplit >= 0 && valSplit < 1))
    return `--val-split must be a fraction in [0, 1) of the training examples (e.g. 0.1; 0: no validation), not '${text}'`;
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
