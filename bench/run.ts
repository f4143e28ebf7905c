/**
 * `npm run bench [-- NAME...]`: runs the named benchmarks, or the front-end one by default.
 * Benchmarks print figures; they never pass or fail on time (speed is not a test).
 */
const suites: Record<string, () => Promise<void>> = {
  frontend: async () => (await import("./frontend.js")).runFrontendBench(),
  startup: async () => (await import("./startup.js")).runStartupBench(),
  xception: async () => (await import("./xception.js")).runXceptionBench(),
  sweep: async () => (await import("./sweep.js")).runSweepBench(),
  search: async () => (await import("./search.js")).runSearchBench(),
  train: async () => (await import("./train.js")).runTrainBench(),
  checkpoint: async () => (await import("./checkpoint.js")).runCheckpointBench(),
  onnx: async () => (await import("./onnx.js")).runOnnxBench(),
  infer: async () => (await import("./infer.js")).runInferBench(),
  "infer-profile": async () => (await import("./inferProfile.js")).runInferProfileBench(),
  lsp: async () => (await import("./lsp.js")).runLspBench(),
  playground: async () => (await import("./playground.js")).runPlaygroundBench(),
  // These two run on import and read their own flags (e.g. `npm run bench -- continuum --quick`).
  continuum: async () => void (await import("./continuum.js")),
  kernels: async () => void (await import("./kernels.js")),
  threads: async () => (await import("./kernelThreads.js")).runKernelThreadsBench(),
  fma: async () => (await import("./relaxedSimd.js")).runRelaxedSimdBench(),
  maxpool: async () => (await import("./maxPoolGrad.js")).runMaxPoolGradBench(),
  depthwise: async () => (await import("./depthwiseForward.js")).runDepthwiseForwardBench(),
  pointwise: async () => (await import("./pointwiseForward.js")).runPointwiseForwardBench(),
  data: async () => (await import("./data.js")).runDataBench(),
  elementwise: async () => (await import("./elementwise.js")).runElementwiseBench(),
  "step-kernels": async () => (await import("./stepKernels.js")).runStepKernelsBench(),
};

const names = process.argv.slice(2).filter((a) => !a.startsWith("-"));
// The default set runs in a few minutes; xception and train take longer and are asked for by name.
const chosen = names.length ? names : ["frontend", "startup", "sweep"];
for (const name of chosen) {
  const run = suites[name];
  if (!run) {
    console.error(`unknown benchmark '${name}'; known: ${Object.keys(suites).join(", ")}`);
    process.exit(2);
  }
  console.log(`## ${name}`);
  await run();
}
