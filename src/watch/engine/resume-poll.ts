// While a job is halted because its source root is not the recorded one: looks again every
// `everyMs` and calls `onBack` once it is (then stops). A check that throws counts as "not yet".

export interface ResumePoll {
  stop(): void;
}

export function startResumePoll(o: { readonly everyMs: number; readonly check: () => Promise<boolean>; readonly onBack: () => void }): ResumePoll {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (): void => {
    timer = setTimeout(() => {
      void o
        .check()
        .catch(() => false)
        .then((back) => {
          if (stopped) return;
          if (back) o.onBack();
          else arm();
        });
    }, o.everyMs);
  };
  arm();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
