// Resolution: newest live shadow → defined source capability → built-in default. A call runs
// the top layer; a shadow's `next` runs the layer beneath it.
import type { Builtin } from "../builtins/builtin";
import type { Shadow } from "./shadows";
import type { SourceCapability } from "./source-store";

export type Layer =
  | { kind: "shadow"; shadow: Shadow }
  | { kind: "source"; def: SourceCapability }
  | { kind: "builtin"; builtin: Builtin };

export function resolveLayers(shadows: Shadow[], source: SourceCapability | null, builtin: Builtin | undefined): Layer[] {
  const layers: Layer[] = shadows.map((shadow) => ({ kind: "shadow" as const, shadow }));
  if (source) layers.push({ kind: "source", def: source });
  else if (builtin) layers.push({ kind: "builtin", builtin });
  return layers;
}
