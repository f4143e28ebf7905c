import { DataError } from "./dataset.js";

/**
 * How data whose images differ from the network's input is made to fit, when the user asks:
 * never silently, since a 28x28 gray image stretched to 32x32x3 is a different experiment.
 */
export interface InputAdaptation {
  /** Resize each image bilinearly to the network's height and width (--resize). */
  readonly resize?: boolean;
  /** Repeat a gray channel to the network's 3 (--repeat-channels). */
  readonly repeatChannels?: boolean;
}

type Shape = readonly [number, number, number];

const show = (s: Shape) => s.join("x");

/**
 * What must be done to `stored` images for a network taking `wanted`: nothing, or the steps the
 * user allowed (as words for the terminal and the manifest); anything not allowed is a DataError
 * that names both shapes and the flags that would adapt them.
 */
export function adaptationFor(
  source: string,
  stored: Shape,
  wanted: Shape,
  allowed: InputAdaptation = {},
): string[] {
  const steps: string[] = [];
  const missing: string[] = [];
  if (stored[0] !== wanted[0] || stored[1] !== wanted[1]) {
    if (allowed.resize)
      steps.push(`resized ${stored[0]}x${stored[1]} -> ${wanted[0]}x${wanted[1]}`);
    else missing.push(`--resize (bilinear, to ${wanted[0]}x${wanted[1]})`);
  }
  if (stored[2] !== wanted[2]) {
    if (stored[2] === 1 && wanted[2] === 3 && allowed.repeatChannels)
      steps.push("gray channel repeated to 3");
    else if (stored[2] === 1 && wanted[2] === 3)
      missing.push("--repeat-channels (the gray channel copied to 3)");
    else
      throw new DataError(
        `holds ${show(stored)} images, but the network takes ${show(wanted)}: no flag turns ${stored[2]} channels into ${wanted[2]}; change the network's input`,
        source,
      );
  }
  if (missing.length)
    throw new DataError(
      `holds ${show(stored)} images, but the network takes ${show(wanted)}: pass ${missing.join(" and ")} to adapt them, or change the network's input to ${show(stored)}`,
      source,
    );
  return steps;
}
