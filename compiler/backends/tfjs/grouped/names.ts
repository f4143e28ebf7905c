/**
 * The grouped-convolution strategies by name, in a module of their own so that the command line
 * can list them without loading tfjs (strategies.ts holds the strategies themselves).
 */
export const STRATEGY_NAMES = [
  "split",
  "blockdiag",
  "depthwise",
  "channelwise",
  "interleave",
  "taps",
  "im2col",
  "native",
  "dense",
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export function isStrategyName(s: string): s is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(s);
}
