// Builds that a pass needs now come before builds run ahead of need (a Kustomization's while it waits for its
// dependencies): on a small machine the two would share its cores, and the one the release waits for would slow.
// An ahead build starts when no needed build is going, one at a time, or after `aheadWaitMs` at the latest, since
// a pass may come to need it (and then waits for it rather than building again).

export const aheadWaitMs = 2_000;
let needed = 0;
let ahead = 0;
const waiting: (() => void)[] = [];

function startNextAhead(): void {
  if (needed > 0 || ahead > 0) return;
  waiting.shift()?.();
}

/** Runs `work`, a build a pass needs now. */
export async function neededBuild<T>(work: () => Promise<T>): Promise<T> {
  needed += 1;
  try {
    return await work();
  } finally {
    needed -= 1;
    startNextAhead();
  }
}

/** Runs `work`, a build ahead of need, once its turn comes. */
export async function aheadBuild<T>(work: () => Promise<T>): Promise<T> {
  await new Promise<void>((start) => {
    const timer = setTimeout(() => {
      waiting.splice(waiting.indexOf(begin), 1);
      begin();
    }, aheadWaitMs);
    const begin = (): void => {
      clearTimeout(timer);
      ahead += 1;
      start();
    };
    waiting.push(begin);
    startNextAhead();
  });
  try {
    return await work();
  } finally {
    ahead -= 1;
    startNextAhead();
  }
}

/** How many builds are going and waiting, by kind. */
export function buildsGoing(): { needed: number; ahead: number; waiting: number } {
  return { needed, ahead, waiting: waiting.length };
}
