/**
 * Runs archc commands one after another in this process and prints one JSON line per command as
 * soon as it ends: { name, code, stderr }. Spawned by tests whose cases could hang archc (a FIFO
 * read, a spinning mkdir): the test kills this process on a deadline, and the lines printed so far
 * say which case hung. argv[2]: a JSON file of { name, argv } cases.
 */
import { readFileSync } from "node:fs";
import { runCli } from "../../helpers.js";

const cases = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as {
  name: string;
  argv: string[];
}[];
for (const c of cases) {
  process.stdout.write(JSON.stringify({ name: c.name, started: true }) + "\n");
  let r: { code: number; stderr: string };
  try {
    r = await runCli(...c.argv);
  } catch (e) {
    r = { code: -1, stderr: `threw: ${String(e)}` };
  }
  process.stdout.write(JSON.stringify({ name: c.name, code: r.code, stderr: r.stderr }) + "\n");
}
