/**
 * `npm run bench [-- NAME...]`: runs the named benchmarks, or the front-end one by default.
 * Benchmarks print figures; they never pass or fail on time (speed is not a test).
 */
const suites: Record<string, () => Promise<void>> = {
  frontend: async () => (await import("./frontend.js")).runFrontendBench(),
  xception: async () => (await import("./xception.js")).runXceptionBench(),
};

const names = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const chosen = names.length ? names : ["frontend"];
for (const name of chosen) {
  const run = suites[name];
  if (!run) {
    console.error(`unknown benchmark '${name}'; known: ${Object.keys(suites).join(", ")}`);
    process.exit(2);
  }
  console.log(`## ${name}`);
  await run();
}
