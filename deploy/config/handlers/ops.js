// Example handlers for the deployment examples. A handler is `fn(args, ctx)`: its return value is
// the run's result, a throw is a failed attempt, and `ctx.signal` fires on stop, lease loss or
// shutdown. Replace this module with your own (and list it under `modules:`).

export async function heartbeat(_args, ctx) {
  return { node: process.env.HOSTNAME ?? null, at: new Date().toISOString(), attempt: ctx.attempt };
}

export async function report(args, ctx) {
  ctx.log.info('building the nightly report', { args });
  await pause(1000, ctx.signal);
  return { rows: 0, day: new Date().toISOString().slice(0, 10) };
}

export async function render(args, ctx) {
  const images = Array.isArray(args) ? args : [];
  for (const image of images) {
    ctx.signal.throwIfAborted();
    await pause(200, ctx.signal);
    ctx.log.info('rendered', { image });
  }
  return { rendered: images.length };
}

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason ?? new Error('aborted'));
    });
  });
}
