// The program each of pool.ts's worker threads runs, as source for `new Worker(..., { eval:
// true })`: a file next to this one would need a different path under tsx, vitest and dist/,
// and a function's toString() carries the transpiler's helpers. It is plain JavaScript that
// only reads what pool.ts writes; the layout constants are pool.ts's, passed in workerData.
//
// A worker waits on the control block's generation word (Atomics.wait), claims tasks of the
// new generation one at a time (a compare-and-swap on a 64-bit word holding the generation
// and the next task, so a worker that wakes late cannot take a task of a later generation
// with an earlier one's job), runs each task's calls on its own instances of the kernel
// modules (bound to the backend's shared memory), and counts every claimed task as completed
// even when a call throws, recording the first error's message for the main thread: the main
// thread never waits for a task that will not end.

/**
 * runTask(job, modules, task): runs task `task` of the job encoded in `job` (pool.ts's
 * encodeJob) with the routines `modules[module][fn]`. The main thread makes its copy of the
 * same source with `new Function`, so both sides cut tasks by one implementation.
 */
export const TASK_SOURCE = String.raw`
function runTask(job, modules, task) {
  const calls = job[0], levels = job[1];
  let at = 2, rest = task, first = 0, last = calls;
  const splits = [];
  for (let l = 0; l < levels; l++) {
    const kind = job[at], parts = job[at + 1], extra = job[at + 3];
    const index = rest % parts;
    rest = (rest - index) / parts;
    // A split of the call list gives its bounds; a split of an argument, its moves.
    if (kind === 0) {
      first = Math.max(first, job[at + 4 + index]);
      last = Math.min(last, job[at + 5 + index]);
    } else splits.push(at, index);
    at += 4 + extra;
  }
  const levelsEnd = at;
  let call = 0;
  for (at = levelsEnd; call < calls; call++) {
    const argc = job[at + 2];
    if (call >= first && call < last) {
      // A plain array filled by hand: Array.prototype.slice.call on an Int32Array is generic
      // (slow), and this runs once per call.
      const args = new Array(argc);
      for (let k = 0; k < argc; k++) args[k] = job[at + 3 + k];
      let empty = false;
      for (let s = 0; s < splits.length; s += 2) {
        const lv = splits[s], index = splits[s + 1];
        const parts = job[lv + 1], countArg = job[lv + 2], moves = job[lv + 3] / 2;
        const count = args[countArg];
        const start = Math.floor((index * count) / parts);
        const end = Math.floor(((index + 1) * count) / parts);
        if (end <= start) empty = true;
        args[countArg] = end - start;
        for (let m = 0; m < moves; m++) {
          const target = job[lv + 4 + 2 * m], step = job[lv + 5 + 2 * m];
          args[target] += start * args[step];
        }
      }
      if (!empty) modules[job[at]][job[at + 1]].apply(null, args);
    }
    at += 3 + argc;
  }
}
`;

export const WORKER_SOURCE = String.raw`
"use strict";
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { memory, control, port, layout: L, index } = workerData;
const ctl = new Int32Array(control, 0, L.ints);
const busy = new Int32Array(control, L.busyByte, L.maxWorkers);
const claim = new BigInt64Array(control, L.claimByte, 1);
const errorBytes = new Uint8Array(control, L.errorByte, L.errorBytes);
const modules = [];
let job = new Int32Array(0);
let applied = 0;

function drain() {
  for (;;) {
    const got = receiveMessageOnPort(port);
    if (got === undefined) {
      if (applied >= Atomics.load(ctl, L.CONFIG)) return;
      // Posted but not yet delivered: wait a millisecond for it.
      Atomics.wait(ctl, L.SLEEP, 0, 1);
      continue;
    }
    applied++;
    const m = got.message;
    if (m.job) job = new Int32Array(m.job);
    if (m.module) {
      const exports = new WebAssembly.Instance(m.module, { env: { memory } }).exports;
      modules[m.id] = m.names.map((n) => exports[n]);
    }
  }
}

function fail(e) {
  if (Atomics.compareExchange(ctl, L.ERROR, 0, 1) !== 0) return;
  const text = new TextEncoder().encode(String(e && e.message ? e.message : e));
  const n = Math.min(text.length, errorBytes.length);
  errorBytes.set(text.subarray(0, n));
  Atomics.store(ctl, L.ERROR_LENGTH, n);
}

${TASK_SOURCE}
for (let seen = 0; ; ) {
  Atomics.wait(ctl, L.GEN, seen);
  seen = Atomics.load(ctl, L.GEN);
  try {
    drain();
  } catch (e) {
    fail(e);
  }
  for (;;) {
    const v = Atomics.load(claim, 0);
    if (Number(BigInt.asIntN(32, v >> 32n)) !== seen) break;
    const task = Number(v & 0xffffffffn);
    const tasks = Atomics.load(ctl, L.NTASKS);
    if (task >= tasks) break;
    if (Atomics.compareExchange(claim, 0, v, v + 1n) !== v) continue;
    Atomics.store(busy, index, 1);
    try {
      runTask(job, modules, task);
    } catch (e) {
      fail(e);
    } finally {
      Atomics.store(busy, index, 0);
      Atomics.add(ctl, L.WORKER_TASKS, 1);
      if (Atomics.add(ctl, L.COMPLETED, 1) + 1 === tasks) Atomics.notify(ctl, L.COMPLETED);
    }
  }
}
`;

/**
 * The thread that starts the pool's workers and watches them. A worker that dies (killed for
 * memory, terminated) runs no exit handler and cannot say so, and the main thread, waiting on
 * the control block for its tasks, runs no event loop to hear its 'exit' event: this thread's
 * loop is free, so it hears it and writes the death into the control block (the worker's
 * flag in DEAD, the reason in the error bytes) and wakes the main thread.
 */
export const SUPERVISOR_SOURCE = String.raw`
"use strict";
const { Worker, workerData, parentPort } = require("node:worker_threads");
const { memory, control, ports, layout: L, source } = workerData;
const ctl = new Int32Array(control, 0, L.ints);
const busy = new Int32Array(control, L.busyByte, L.maxWorkers);
const dead = new Int32Array(control, L.deadByte, L.maxWorkers);
const errorBytes = new Uint8Array(control, L.errorByte, L.errorBytes);
const workers = ports.map((port, index) => {
  const w = new Worker(source, {
    eval: true,
    workerData: { memory, control, port, layout: L, index },
    transferList: [port],
  });
  let why = "";
  w.on("error", (e) => { why = String(e && e.message ? e.message : e); });
  w.on("exit", (code) => {
    const text = new TextEncoder().encode(
      "worker thread " + (index + 1) + " of the kernel pool died" +
        (busy[index] ? " in the middle of a task" : "") + " (exit code " + code +
        (why ? ": " + why : "") + ")",
    );
    if (Atomics.compareExchange(ctl, L.ERROR, 0, 1) === 0) {
      const n = Math.min(text.length, errorBytes.length);
      errorBytes.set(text.subarray(0, n));
      Atomics.store(ctl, L.ERROR_LENGTH, n);
    }
    Atomics.store(dead, index, 1);
    Atomics.store(ctl, L.DEAD, 1);
    Atomics.notify(ctl, L.COMPLETED);
  });
  return w;
});
// Tests: terminate a worker once it is running a task (the death this thread reports).
parentPort.on("message", (m) => {
  if (m && m.terminateBusy !== undefined) {
    const i = m.terminateBusy;
    const poll = setInterval(() => {
      if (Atomics.load(busy, i)) { clearInterval(poll); workers[i].terminate(); }
    }, 1);
  }
});
`;
