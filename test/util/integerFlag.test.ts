import { describe, expect, it } from "vitest";
import { integerFlag } from "../../compiler/util/integerFlag.js";

describe("integerFlag: one rule for every integer flag", () => {
  it("takes plain digits at or above the minimum", () => {
    expect(integerFlag("batch", "32", 1)).toBe(32);
    expect(integerFlag("seed", "0", 0)).toBe(0);
  });

  it("refuses what Number() would take but nobody means", () => {
    for (const text of ["", " ", "0x2", "1e3", "2.0", "-1", "Infinity", "9007199254740993"])
      expect(integerFlag("batch", text, 1)).toHaveProperty("error");
  });

  it("says what is wrong and what would be right", () => {
    expect(integerFlag("batch", "0", 1)).toEqual({
      error: "--batch must be a positive integer, not '0'",
    });
    expect(integerFlag("seed", "-1", 0)).toEqual({
      error: "--seed must be an integer of at least 0, not '-1'",
    });
  });
});
