import { describe, expect, it } from "vitest";
import { planHostJobs } from "./plan.ts";

const job = (specHash: string) => ({ specFile: `/s/${specHash}/spec.json`, specHash, owner: "" });

describe("planHostJobs", () => {
  it("starts what is new, restarts only what changed, stops what is gone", () => {
    const running = new Map([
      ["same", "h1"],
      ["changed", "h2"],
      ["gone", "h3"],
    ]);
    expect(planHostJobs(running, { same: job("h1"), changed: job("h2b"), added: job("h4") })).toEqual({ start: ["added"], restart: ["changed"], stop: ["gone"] });
  });
  it("a new restart token restarts the job with the same spec", () => {
    const running = new Map([["a", "h"], ["b", "h#1"]]);
    expect(planHostJobs(running, { a: { ...job("h"), restart: "1" }, b: { ...job("h"), restart: "1" } })).toEqual({ start: [], restart: ["a"], stop: [] });
  });
  it("an unchanged list is no work", () => {
    expect(planHostJobs(new Map([["a", "h"]]), { a: job("h") })).toEqual({ start: [], restart: [], stop: [] });
  });
  it("an empty list stops every job", () => {
    expect(planHostJobs(new Map([["a", "h"], ["b", "g"]]), {})).toEqual({ start: [], restart: [], stop: ["a", "b"] });
  });
  it("a job named like an Object prototype key is a job", () => {
    expect(planHostJobs(new Map(), { constructor: job("h") }).start).toEqual(["constructor"]);
    expect(planHostJobs(new Map([["toString", "h"]]), {}).stop).toEqual(["toString"]);
  });
});
