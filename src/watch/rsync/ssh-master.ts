import { spawn } from "node:child_process";
import { buildSshExitArgs, type SshSpec } from "../../core/ssh-command.ts";

// The lane's ssh master connection outlives each rsync (ControlPersist): when the watch stops it
// is ended here, so `rtsync down` leaves no ssh behind. A master that is gone already is fine.

/** Ends the master connection of `ssh`'s control socket; resolves within ~3 s whatever happens. */
export function stopSshMaster(ssh: SshSpec): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(ssh.binary, buildSshExitArgs(ssh), { stdio: "ignore", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LC_ALL: "C" } });
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    child.once("error", done);
    child.once("close", done);
  });
}
