import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runnerPath } from "../../../compiler/lab/torch/engine.js";
import {
  inCI,
  needPython,
  oracleTimeout,
  python,
  pythonProblem,
} from "../../backends/torch/python.js";
import { tempRoot } from "../../tempRoot.js";

/**
 * The torch runner's loader (issue 24: the step never waits on data): a data set's DataLoader
 * workers are started once and kept from stream to stream (each epoch's, each evaluation's), and
 * a stream's workers start decoding when the stream is made, not when its first batch is asked
 * for, so the runner can make the next epoch's stream before the work between epochs. Observed
 * through the samples' loads (which process, in what order), not timed.
 */
const problem = pythonProblem("torch, numpy");

const root = tempRoot("torch-loader");

const script = (log: string) =>
  [
    "import json, os, sys, time",
    "import numpy as np, torch",
    `sys.path.insert(0, ${JSON.stringify(join(runnerPath, ".."))})`,
    "import runner",
    `LOG = ${JSON.stringify(log)}`,
    "class Probe(runner.Samples):",
    "    # Each load appends (pid, sample): what the workers did, and when, is in the file.",
    "    def load(self, p, view):",
    "        with open(LOG, 'a') as f:",
    "            f.write(f'{os.getpid()} {p}\\n')",
    "        return np.full((2, 3, 1), p, dtype=np.uint8), p % 2, p",
    "def loads():",
    "    return [tuple(map(int, l.split())) for l in open(LOG).read().splitlines()] if os.path.exists(LOG) else []",
    "def wait_for(n):",
    "    # Generous: a loaded machine is slow, not wrong; a stream that never starts still fails.",
    "    deadline = time.time() + 120",
    "    while len(loads()) < n and time.time() < deadline:",
    "        time.sleep(0.05)",
    "    return len(loads())",
    "d = Probe({'size': 12, 'shape': [2, 3, 3]}, 2)",
    "cpu = torch.device('cpu')",
    "first = d.batches([[0, 1], [2, 3], [4, 5]], cpu)",
    "# Made, not yet read from: the workers decode its first batches (prefetch 2 each) meanwhile.",
    "ahead = wait_for(6)",
    "a = list(first)",
    "second = d.batches([[6, 7], [8, 9], [10, 11]], cpu)",
    "b = list(second)",
    "pids = sorted({pid for pid, _ in loads()})",
    "workers = [w.pid for w in d.loader()._iterator._workers]",
    "d.close()",
    "time.sleep(0.5)",
    "alive = [w for w in workers if os.path.exists(f'/proc/{w}') and open(f'/proc/{w}/stat').read().split()[2] != 'Z']",
    "print(json.dumps({",
    "    'ahead': ahead,",
    "    'first': [bx[2] for bx in a], 'second': [bx[2] for bx in b],",
    "    'x': a[0][0].tolist(), 'y': a[0][1].tolist(),",
    "    'pids': len(pids), 'main': os.getpid() in pids, 'alive': len(alive),",
    "}))",
  ].join("\n");

/**
 * A shard of 5 samples (a PGM and a .cls each) written by Python's tarfile in `format`, its
 * index, and what the runner's locate_split makes of it: the quick ustar reader where every
 * header is plain, tarfile's reading otherwise (and tarfile's verdict on a damaged shard).
 */
const tarScript = (dir: string) =>
  [
    "import io, json, os, sys, tarfile",
    `sys.path.insert(0, ${JSON.stringify(join(runnerPath, ".."))})`,
    "import runner",
    `DIR = ${JSON.stringify(dir)}`,
    "def shard(name, fmt, cut=0):",
    "    path = os.path.join(DIR, name, 'train-000000.tar')",
    "    os.makedirs(os.path.dirname(path))",
    "    with tarfile.open(path, 'w', format=fmt) as t:",
    "        for k in range(5):",
    "            for ext, data in (('pgm', b'P5 2 1 255\\n' + bytes([k, 9])), ('cls', str(k % 2).encode())):",
    "                m = tarfile.TarInfo(f'{k:09d}.{ext}')",
    "                m.size = len(data)",
    "                if fmt == tarfile.PAX_FORMAT:",
    "                    m.pax_headers = {'comment': 'a pax header before each member'}",
    "                t.addfile(m, io.BytesIO(data))",
    "    if cut:",
    "        os.truncate(path, cut)",
    "    index = {'classes': ['a', 'b'], 'splits': {'train': {'count': 5, 'shards': [{'file': 'train-000000.tar', 'count': 5}]}}}",
    "    json.dump(index, open(os.path.join(DIR, name, 'index.json'), 'w'))",
    "    return os.path.dirname(path), index",
    "def located(folder, index):",
    "    try:",
    "        _, shard, offset, size, ext, label, key = runner.locate_split(folder, index, 'train')",
    "        return {'offset': offset.tolist(), 'size': size.tolist(), 'label': label.tolist(), 'key': key.tolist()}",
    "    except runner.Refused as e:",
    "        return {'refused': str(e)}",
    "def plain(folder):",
    "    try:",
    "        return len(list(runner.plain_members(os.path.join(folder, 'train-000000.tar'))))",
    "    except runner.NotPlain:",
    "        return 'not plain'",
    "out = {}",
    "for name, fmt, cut in (('ustar', tarfile.USTAR_FORMAT, 0), ('pax', tarfile.PAX_FORMAT, 0), ('cut', tarfile.USTAR_FORMAT, 10 * 1024 - 100)):",
    "    folder, index = shard(name, fmt, cut)",
    "    out[name] = {'plain': plain(folder), **located(folder, index)}",
    "print(json.dumps(out))",
  ].join("\n");

describe.skipIf(problem !== undefined && !inCI)("the torch runner's loader", () => {
  it(
    "reads a pack's plain tar headers itself, and leaves any other tar (or a cut one) to tarfile",
    () => {
      needPython(problem);
      const out = execFileSync(python, ["-c", tarScript(join(root, "tars"))], {
        encoding: "utf8",
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
      });
      const r = JSON.parse(out.trim().split("\n").pop()!) as Record<
        string,
        Record<string, unknown>
      >;
      // Plain ustar: the quick reader takes all 10 members; pax headers are left to tarfile.
      expect(r["ustar"]!["plain"]).toBe(10);
      expect(r["pax"]!["plain"]).toBe("not plain");
      // Both readings give the same samples: each image's data right after its header.
      expect(r["ustar"]!["key"]).toEqual([0, 1, 2, 3, 4]);
      expect(r["ustar"]!["label"]).toEqual([0, 1, 0, 1, 0]);
      expect(r["ustar"]!["size"]).toEqual([13, 13, 13, 13, 13]);
      expect(r["ustar"]!["offset"]).toEqual([512, 2560, 4608, 6656, 8704]);
      expect(r["pax"]!["key"]).toEqual(r["ustar"]!["key"]);
      expect(r["pax"]!["label"]).toEqual(r["ustar"]!["label"]);
      // A shard cut inside its last member (10 members of a header and a block): named, with
      // tarfile's words.
      expect(r["cut"]!["plain"]).toBe("not plain");
      expect(r["cut"]!["refused"]).toMatch(
        /train-000000\.tar: is not a readable tar file \(unexpected end of data\)/,
      );
    },
    oracleTimeout(1),
  );

  it(
    "starts decoding when a stream is made, keeps its workers for the next stream, stops them on close",
    () => {
      needPython(problem);
      const out = execFileSync(python, ["-c", script(join(root, "loads.txt"))], {
        encoding: "utf8",
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
      });
      const r = JSON.parse(out.trim().split("\n").pop()!) as Record<string, unknown>;
      // All three batches of the first stream were decoded before anything was read from it
      // (2 workers x prefetch 2 >= 3 batches).
      expect(r["ahead"]).toBe(6);
      expect(r["first"]).toEqual([
        [0, 1],
        [2, 3],
        [4, 5],
      ]);
      expect(r["second"]).toEqual([
        [6, 7],
        [8, 9],
        [10, 11],
      ]);
      // Bytes over 255, planar: sample 0 is zeros, sample 1 is 1/255 in each of 3 x 2 x 3.
      const x = r["x"] as number[][][][];
      expect(x[1]!.flat(2)).toEqual(Array(18).fill(Math.fround(1 / 255)));
      expect(x[0]!.flat(2)).toEqual(Array(18).fill(0));
      expect(r["y"]).toEqual([0, 1]);
      // Both streams were read by the same two worker processes, never the main one.
      expect(r["pids"]).toBe(2);
      expect(r["main"]).toBe(false);
      expect(r["alive"]).toBe(0);
    },
    oracleTimeout(2),
  );
});
