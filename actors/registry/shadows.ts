// Live shadows: per capability name, a stack of client-provided stand-ins, newest on top.
// They live in the actor's memory only, because what they point to (a client's session) does
// not survive the actor either.

/** The front door's bridge to a client's shadow object, as the actor sees it over Workers RPC. */
export type ShadowTarget = {
  invoke(method: string, args: unknown[], next: (...args: unknown[]) => Promise<unknown>): Promise<unknown>;
  dup?(): ShadowTarget;
  [Symbol.dispose]?(): void;
};

export type Shadow = { id: string; name: string; owner: string; target: ShadowTarget; installedAt: number };

export class ShadowStacks {
  #stacks = new Map<string, Shadow[]>();
  #seq = 0;

  push(name: string, owner: string, target: ShadowTarget): Shadow {
    const shadow = { id: `shd_${++this.#seq}_${crypto.randomUUID().slice(0, 8)}`, name, owner, target, installedAt: Date.now() };
    const stack = this.#stacks.get(name) ?? [];
    stack.push(shadow);
    this.#stacks.set(name, stack);
    return shadow;
  }

  /** Newest first. */
  layers(name: string): Shadow[] {
    return [...(this.#stacks.get(name) ?? [])].reverse();
  }

  find(id: string): Shadow | undefined {
    for (const stack of this.#stacks.values()) {
      const s = stack.find((x) => x.id === id);
      if (s) return s;
    }
    return undefined;
  }

  remove(id: string): boolean {
    for (const [name, stack] of this.#stacks) {
      const i = stack.findIndex((x) => x.id === id);
      if (i === -1) continue;
      const [gone] = stack.splice(i, 1);
      if (stack.length === 0) this.#stacks.delete(name);
      try {
        gone!.target[Symbol.dispose]?.();
      } catch {
        // A stub whose session already broke may refuse disposal; it is gone either way.
      }
      return true;
    }
    return false;
  }

  depth(name: string): number {
    return this.#stacks.get(name)?.length ?? 0;
  }

  names(): string[] {
    return [...this.#stacks.keys()];
  }
}
