/* global process, console, setTimeout, setInterval */
// Opens N TCP connections to 127.0.0.1:PORT that never send a byte, keeps them, and prints one JSON
// line {"opened":…,"closed":…} per second (the agent's HTTP server must close them, not run out of
// file descriptors). Run as its own process: a process has at most ~20,000 descriptors here.
import net from "node:net";

const [port, count] = [Number(process.argv[2]), Number(process.argv[3])];
let opened = 0;
let closed = 0;
const sockets = [];
for (let i = 0; i < count; i++) {
  const s = net.connect(port, "127.0.0.1");
  s.on("connect", () => opened++);
  s.on("close", () => closed++);
  s.on("error", () => undefined);
  sockets.push(s);
  if (i % 500 === 499) await new Promise((r) => setTimeout(r, 5)); // bounded: a burst, not a storm
}
const report = () => console.log(JSON.stringify({ opened, closed }));
setInterval(report, 500);
process.on("SIGTERM", () => process.exit(0));
