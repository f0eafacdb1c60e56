// Markdown tables, so that a run's output can be pasted into bench/README.md or an issue as is.

export function markdownTable(header, rows) {
  const cells = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, i) => Math.max(3, ...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  const rule = `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`;
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join("\n");
}

export const fmt = {
  ms: (v) => (Number.isFinite(v) ? v.toFixed(2) : "–"),
  rps: (v) => (Number.isFinite(v) ? v.toFixed(0) : "–"),
  x: (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : "–"),
};
