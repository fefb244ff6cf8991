import { expect, test } from "vitest";
import { humanBytes, progressFigures, sentFigures } from "./progress-text.ts";

test("progress figures read like rsync's, with binary units", () => {
  expect(humanBytes(512)).toBe("512 B");
  expect(humanBytes(4 * 1024 * 1024)).toBe("4.0 MiB");
  expect(progressFigures({ bytes: 1_572_864, percent: 45, files: 1234, total: 2000 })).toBe("45%, 1,234 files sent of 2,000 seen, 1.5 MiB");
  expect(progressFigures({ bytes: 10, percent: 3 })).toBe("3%, 0 files sent, 10 B");
  expect(sentFigures({ bytes: 4 * 1024 * 1024, files: 32 })).toBe("32 files, 4.0 MiB sent");
});
