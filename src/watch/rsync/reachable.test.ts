import { createServer } from "node:net";
import { expect, test } from "vitest";
import { acceptsConnections, daemonAddressOf } from "./reachable.ts";

test("a daemon lane key names the address to probe; a local target has none", () => {
  expect(daemonAddressOf("rsync://10.0.0.2:873/backup/sub")).toEqual({ host: "10.0.0.2", port: 873 });
  expect(daemonAddressOf("rsync://[::1]:8730/m/")).toEqual({ host: "::1", port: 8730 });
  expect(daemonAddressOf("rsync://backup.example:99999/m/")).toBeUndefined();
  expect(daemonAddressOf("/srv/replica")).toBeUndefined();
});

test("a listening port accepts; a closed one does not", async () => {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  expect(await acceptsConnections("127.0.0.1", address.port)).toBe(true);
  await new Promise((r) => server.close(r));
  expect(await acceptsConnections("127.0.0.1", address.port)).toBe(false);
});
