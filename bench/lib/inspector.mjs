// The V8 inspector of Capstan's Worker under `wrangler dev` (its --inspector-port), spoken to
// over the Chrome DevTools Protocol: enough to take a CPU profile of the isolate that runs the
// front door, the ProjectActor and the EgressPipe (one isolate locally), and to summarise it.

/** Opens the DevTools socket of the first Worker the dev server lists. */
export async function connectInspector(inspectorPort) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  if (!targets.length) throw new Error(`the inspector on ${inspectorPort} lists no Worker`);
  // Miniflare's inspector proxy only takes sockets whose Origin is local.
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl, { headers: { origin: "http://localhost" } });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", () => reject(new Error(`cannot open the inspector socket ${targets[0].webSocketDebuggerUrl}`)));
  });
  let next = 0;
  const pending = new Map();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    const p = m.id !== undefined && pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(`${p.method}: ${m.error.message}`));
    else p.resolve(m.result);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      pending.set(id, { resolve, reject, method });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** Runs `work` under the sampling profiler (`intervalUs` between samples); returns the profile. */
export async function profile(inspector, work, intervalUs = 100) {
  await inspector.send("Profiler.enable");
  await inspector.send("Profiler.setSamplingInterval", { interval: intervalUs });
  await inspector.send("Profiler.start");
  try {
    await work();
  } finally {
    var { profile: result } = await inspector.send("Profiler.stop");
  }
  return result;
}

const frameName = (n) => `${n.callFrame.functionName || "(anonymous)"}${n.callFrame.lineNumber >= 0 ? `:${n.callFrame.lineNumber + 1}` : ""}`;

/**
 * Self time by function, largest first, each with the callers it was most often reached from
 * (`depth` frames up). Native frames (send, exec, …) show as themselves, so the callers say
 * whose WebSocket send or SQLite exec it was.
 */
export function summarise(prof, { top = 25, depth = 3 } = {}) {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples = new Map();
  for (const id of prof.samples) samples.set(id, (samples.get(id) ?? 0) + 1);
  const total = prof.samples.length;
  const fns = new Map();
  for (const [id, count] of samples) {
    const node = byId.get(id);
    const key = frameName(node);
    const chain = [];
    for (let p = parent.get(id), i = 0; p !== undefined && i < depth; p = parent.get(p), i++) {
      const pn = byId.get(p);
      if (pn.callFrame.functionName === "(root)") break;
      chain.push(frameName(pn));
    }
    const f = fns.get(key) ?? { self: 0, via: new Map() };
    f.self += count;
    const via = chain.join(" ← ") || "–";
    f.via.set(via, (f.via.get(via) ?? 0) + count);
    fns.set(key, f);
  }
  return [...fns]
    .sort((a, b) => b[1].self - a[1].self)
    .slice(0, top)
    .map(([fn, f]) => ({ fn, selfPct: (100 * f.self) / total, via: [...f.via].sort((a, b) => b[1] - a[1])[0][0] }));
}
