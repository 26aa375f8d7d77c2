/**
 * `faulty-js`: a test model in JavaScript that misbehaves on request, one way per value of its
 * `mode` input, mirroring the Rust `faulty` (`../faulty/src/lib.rs`) where JavaScript can.
 *
 * | mode | behaviour |
 * |---|---|
 * | 0 | `y = x` |
 * | 1 | throws `Error("mode 1 refuses x = <x>")`: the failure reads `Error: mode 1 refuses x = <x>` |
 * | 2 | recurses without bound: out of fuel at 10 M a scenario; given ample fuel, SpiderMonkey throws `InternalError: too much recursion` (a model error) |
 * | 3 | loops forever (out of fuel) |
 * | 5 | grows memory without bound (memory limit) |
 * | 12 | probes the host: `y` is a bit set of what it could see (0 when nothing) |
 * | 13 | `y` mixes `Math.random()`, `crypto.getRandomValues` and `Date.now()` (same everywhere) |
 * | other | `y = x` |
 *
 * The probe bits are the Rust model's: 1 a file, 2 a directory listing, 4 an environment
 * variable, 8 a program argument, 16 a TCP connection, 32 a name lookup, 64 a UDP socket, 128 a
 * wall clock past the epoch, 256 a monotonic clock that moves. StarlingMonkey has no file,
 * directory, environment, argument or socket API (and `fetch` is asynchronous and, built with
 * `-d http fetch-event`, has no wasi:http behind it), so bits 1 to 64 can only be seen under
 * Node (where `process` exists); in the component only the clocks are there to look at.
 */

import { exportModel } from "../../../../model-sdk/js/mcp_model.js";

/** Calls `probe` and says whether it saw something; a refusal (an exception) sees nothing. */
function sees(probe) {
  try {
    return probe() === true;
  } catch {
    return false;
  }
}

/** What the model could reach of the host, one bit each (see the table above). */
function probeHost() {
  const node = globalThis.process;
  let seen = 0;
  // 1 and 2: no synchronous file API exists here, so nothing to try.
  if (sees(() => Object.keys(node.env).length > 0)) {
    seen |= 4;
  }
  if (sees(() => node.argv.length > 0)) {
    seen |= 8;
  }
  // 16, 32 and 64: no sockets and no name lookup. The only network API is `fetch`, whose
  // promise cannot settle within a synchronous scenario, so it is not tried.
  if (sees(() => Date.now() !== 0)) {
    seen |= 128;
  }
  if (
    sees(() => {
      const start = performance.now();
      let spin = 0;
      for (let i = 0; i < 10_000; i++) {
        spin = (spin + i) | 0;
      }
      return performance.now() > start && spin !== 1;
    })
  ) {
    seen |= 256;
  }
  return seen;
}

/** Mixes the entropy and the wall clock the runtime offers into one exact integer below 2^53. */
function entropyAndTime() {
  let word = 0;
  if (typeof crypto === "object") {
    word = crypto.getRandomValues(new Uint32Array(1))[0];
  }
  const low = (word ^ Date.now()) >>> 0;
  return Math.floor(Math.random() * 2 ** 21) * 2 ** 32 + low;
}

/** Recursion with nothing to stop it. */
function recurse(n) {
  return recurse(n + 1) + 1;
}

export const evaluate = exportModel({
  name: "faulty-js",
  version: "0.1.0",
  inputs: ["mode", "x"],
  outputs: ["y"],

  evaluate(mode, x) {
    switch (Math.trunc(mode)) {
      case 1:
        throw new Error(`mode 1 refuses x = ${x}`);
      case 2:
        return [recurse(x)];
      case 3:
        for (;;) {
          // Nothing: only fuel ends this.
        }
      case 5: {
        // Buffers of 64, 128, 256, ... MiB kept reachable, so none can be collected. The engine
        // zeroes each new buffer, which costs fuel: 1 MiB steps run out of the default 10 M
        // fuel before they reach 64 MiB, whereas the first step here is past that limit.
        const hoard = [];
        for (let size = 64 << 20; ; size *= 2) {
          hoard.push(new ArrayBuffer(size));
        }
      }
      case 12:
        return [probeHost()];
      case 13:
        return [entropyAndTime()];
      default:
        return [x];
    }
  },
});
