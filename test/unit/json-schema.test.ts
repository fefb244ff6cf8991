import { readFile } from "node:fs/promises";
import { Ajv } from "ajv";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { renderJsonSchema } from "../../src/manifest/json-schema.ts";

// The committed JSON Schema is what editors (yaml-language-server) check manifests with.
const root = new URL("../../", import.meta.url);
const committed = await readFile(new URL("schemas/rtsync.schema.json", root), "utf8");

function validator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(JSON.parse(committed) as object);
}

describe("schemas/rtsync.schema.json", () => {
  test("equals the schema generated from the zod model (run `npm run schema` when this fails)", () => {
    expect(committed).toBe(renderJsonSchema());
  });

  test.each(["quickstart.yaml", "master-slave.yaml"])("accepts examples/%s, which points editors at it", async (name) => {
    const text = await readFile(new URL(`examples/${name}`, root), "utf8");
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=../schemas/rtsync.schema.json");
    const validate = validator();
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
  });

  test("an example with a typo'd key fails the schema, as an editor would show", async () => {
    const text = await readFile(new URL("examples/master-slave.yaml", root), "utf8");
    const typo = text.replace("    maxConnections: 200", "    maxConnection: 200");
    expect(typo).not.toBe(text);
    const validate = validator();
    expect(validate(parse(typo))).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({ keyword: "additionalProperties", params: { additionalProperty: "maxConnection" } }),
    );
  });

  test("a bad module name fails the schema too", () => {
    const validate = validator();
    expect(validate({ version: 1, daemons: { d: { modules: { "a]b": { path: "/x" } } } } })).toBe(false);
  });
});
