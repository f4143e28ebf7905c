import { describe, expect, it } from "vitest";
import { networkHash } from "../../../compiler/lab/run/identity.js";
import { mustBuild } from "../../helpers.js";

/**
 * The network's hash is part of every run's identity, so it must see only what decides the
 * numbers: not where in the file a layer or a block call was written.
 */
const spec = `block unit(f, p) {
  conv 3x3 f parts = p
  bn
}

network net(p = 2) {
  input [8, 8, 4]
  unit(8, p)
  unit(8, p)
  gap
  dense 3 softmax
}
`;

describe("networkHash", () => {
  it("is unchanged when comments move every block call and layer to other lines", () => {
    const moved = `# a comment\n\n# and another\n${spec.replace("block unit(f, p) {", "block unit(f, p) { # here")}`;
    expect(networkHash(mustBuild(moved))).toBe(networkHash(mustBuild(spec)));
  });

  it("changes when the network does", () => {
    expect(networkHash(mustBuild(spec, ["p=4"]))).not.toBe(networkHash(mustBuild(spec)));
  });
});
