/**
 * Drill: Ctrl-C on `serve --workers 4` under load, over and over. A terminal's Ctrl-C sends SIGINT to the
 * whole process group — the primary and every worker at once — so IPC messages race with exiting workers.
 * Every cycle must end with exit code 0, no unhandled error (EPIPE from `worker.send`), no error line, and no
 * worker "replaced" during the shutdown.
 */
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../operations/helpers.js";
import { type FaultGateway, serveFaultGateway } from "./drill-kit.js";

// 2 cycles in a developer's run (a soak is CI's job); CI (.ci/run) sets 10, the soak the drill is named for.
const CYCLES = Number(process.env.DRILL_CTRL_C_CYCLES ?? 2);

let f: FaultGateway;
beforeAll(async () => {
  f = await serveFaultGateway({ workers: 4, serve: { detached: true } });
}, 120_000);
afterAll(() => f?.close());

describe("Ctrl-C on a 4-worker cluster", () => {
  it(
    `when SIGINT reaches the whole process group under load, ${CYCLES} times, then every cycle exits 0 without an unhandled error`,
    async () => {
      for (let cycle = 0; cycle < CYCLES; cycle += 1) {
        const gw = cycle === 0 ? f.gw : await f.serveAgain();
        const agent = new Agent({ connect: { ca: f.ca }, connections: 16 });
        let ok = 0;
        let stop = false;
        const load = Promise.all(
          Array.from({ length: 8 }, async () => {
            while (!stop) {
              try {
                const res = await request(`${gw.url}/download?bytes=20000&ms=40`, { dispatcher: agent });
                await res.body.dump();
                if (res.statusCode === 200) ok += 1;
              } catch {
                // Refused or reset while the gateway goes away: expected for the client, not for the gateway.
                if (gw.child.exitCode !== null) return;
              }
            }
          }),
        );
        await eventually(async () => ok >= 16, "load flowing");
        process.kill(-gw.child.pid!, "SIGINT");
        const code = await gw.exited;
        stop = true;
        await load;
        await agent.close();
        const stderr = gw.stderr.join("");
        const errors = gw.lines.filter((l) => typeof l.level === "number" && l.level >= 50);
        expect({ cycle, code, stderr, errors }).toEqual({ cycle, code: 0, stderr: "", errors: [] });
        expect(gw.lines.some((l) => l.msg === "all workers stopped")).toBe(true);
      }
    },
    60_000 + CYCLES * 15_000,
  );
});
