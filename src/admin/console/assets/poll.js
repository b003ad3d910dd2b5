// A refresh loop: `load` runs, then again `ms` after it settled (never two at once, however slow the answer).

export function poller(load, ms) {
  let timer;
  let running = false;
  const tick = async () => {
    await load();
    if (running) timer = setTimeout(tick, ms);
  };
  return {
    start() {
      if (running) return;
      running = true;
      void tick();
    },
    stop() {
      running = false;
      clearTimeout(timer);
    },
  };
}
