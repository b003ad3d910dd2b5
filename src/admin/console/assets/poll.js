// A refresh loop: `load` runs, then again `ms` after it settled (never two at once, however slow the answer).
// A stop() and start() while a load is still in flight leave one loop, not two: each start is a new round and
// an older round's pending load schedules nothing.

export function poller(load, ms) {
  let timer;
  let round = 0;
  let running = false;
  const tick = async (mine) => {
    await load();
    if (running && mine === round) timer = setTimeout(() => tick(mine), ms);
  };
  return {
    start() {
      if (running) return;
      running = true;
      void tick(++round);
    },
    stop() {
      running = false;
      clearTimeout(timer);
    },
  };
}
