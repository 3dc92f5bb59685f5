/**
 * Summarises V8 heap snapshots (`node:v8` `writeHeapSnapshot`): self size and
 * count per object kind (constructor, closure, array …), and the difference
 * between two snapshots, to see what each extra connection costs.
 *
 * @module
 */

/** Self size and count of one kind of heap object. */
export interface HeapKind {
  /** `type:name`, e.g. `object:IpcSession`, `closure:run`. */
  kind: string;
  /** Number of objects. */
  count: number;
  /** Sum of their self sizes in bytes. */
  bytes: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/**
 * Aggregates a parsed heap snapshot by object kind.
 *
 * @example
 * ```ts ignore
 * const kinds = summarizeHeap(JSON.parse(await Deno.readTextFile("x.heapsnapshot")));
 * ```
 */
export function summarizeHeap(snapshot: Snapshot): Map<string, HeapKind> {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const out = new Map<string, HeapKind>();
  const nodes = snapshot.nodes;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    let name = snapshot.strings[nodes[i + nameAt]];
    // strings and numbers are named by their content: group them by type only
    if (
      type === "string" || type === "concatenated string" || type === "sliced string" || type === "number"
    ) {
      name = "";
    }
    if (name.length > 60) name = `${name.slice(0, 57)}...`;
    const kind = `${type}:${name}`;
    const e = out.get(kind) ?? { kind, count: 0, bytes: 0 };
    e.count++;
    e.bytes += nodes[i + sizeAt];
    out.set(kind, e);
  }
  return out;
}

/**
 * What grew from `before` to `after`, largest growth first.
 *
 * @example
 * ```ts ignore
 * for (const d of diffHeaps(before, after).slice(0, 20)) console.log(d.kind, d.bytes);
 * ```
 */
export function diffHeaps(before: Map<string, HeapKind>, after: Map<string, HeapKind>): HeapKind[] {
  const out: HeapKind[] = [];
  for (const [kind, a] of after) {
    const b = before.get(kind);
    out.push({ kind, count: a.count - (b?.count ?? 0), bytes: a.bytes - (b?.bytes ?? 0) });
  }
  return out.sort((x, y) => y.bytes - x.bytes);
}
