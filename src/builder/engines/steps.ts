/**
 * Follows an engine's progress lines to say which Dockerfile step was running:
 * buildah `STEP 2/3: RUN make` (multi-stage: `[1/2] STEP 2/3: RUN make`), classic Docker
 * `Step 2/3 : RUN make`, BuildKit's plain progress `#7 [builder 2/3] RUN make` (with
 * `#7 ERROR: ...` marking the one that failed, as its steps run at once).
 */
/** Each stage's name and its instructions' lines, FROM first: where a step number points. */
export interface StepLines {
  /** The Dockerfile as the user names it ("images/app/Dockerfile"). */
  file: string;
  stages: { name?: string; lines: number[] }[];
}

/** A Dockerfile's stages as StepLines. */
export function stepLines(df: { file: string; stages: { name?: string; from: { line: number }; instructions: { line: number }[] }[] }): StepLines {
  return { file: df.file, stages: df.stages.map((s) => ({ ...(s.name ? { name: s.name } : {}), lines: [s.from.line, ...s.instructions.map((i) => i.line)] })) };
}

/** Where a step is: a stage (1-based, or by name) and the step in it; or a step counted over the whole file. */
type Position = { stage: number | string; step: number } | { flat: number };

export class StepTracker {
  private last: string | undefined;
  private failed: string | undefined;
  private lastAt: Position | undefined;
  private failedAt: Position | undefined;
  private readonly buildkit = new Map<string, [string, Position]>();

  /** `hidden`: steps berth added at the start of the Dockerfile, subtracted from classic Docker's numbers. */
  constructor(private readonly hidden = 0) {}

  see(line: string): void {
    let m = /^(?:\[(\d+)\/(\d+)\] )?STEP (\d+)\/(\d+): (.*)$/.exec(line);
    if (m) {
      const stage = m[1] ? `stage ${m[1]}/${m[2]}, ` : '';
      this.last = `${stage}step ${m[3]}/${m[4]} (${short(m[5]!)})`;
      this.lastAt = { stage: m[1] ? Number(m[1]) : 1, step: Number(m[3]) };
      return;
    }
    m = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
    if (m) {
      this.last = `step ${Number(m[1]) - this.hidden}/${Number(m[2]) - this.hidden} (${short(m[3]!)})`;
      this.lastAt = { flat: Number(m[1]) - this.hidden };
      return;
    }
    m = /^#(\d+) \[(?:(\S+) )?(\d+)\/(\d+)\] (.*)$/.exec(line);
    if (m) {
      const stage = m[2] ? `stage ${m[2]}, ` : '';
      const step = `${stage}step ${m[3]}/${m[4]} (${short(m[5]!)})`;
      const at: Position = { stage: m[2] ?? 1, step: Number(m[3]) };
      this.buildkit.set(m[1]!, [step, at]);
      this.last = step;
      this.lastAt = at;
      return;
    }
    m = /^#(\d+) ERROR: /.exec(line);
    if (m && this.failed === undefined) [this.failed, this.failedAt] = this.buildkit.get(m[1]!) ?? [undefined, undefined];
  }

  /** `file:line` of the step that failed (else the last begun), when `lines` places it. */
  line(lines: StepLines | undefined): string | undefined {
    const at = this.failed !== undefined ? this.failedAt : this.lastAt;
    if (!lines || !at) return undefined;
    let n: number | undefined;
    if ('flat' in at) n = lines.stages.flatMap((s) => s.lines)[at.flat - 1];
    else {
      const stage = typeof at.stage === 'number' ? lines.stages[at.stage - 1] : lines.stages.find((s) => s.name === String(at.stage).toLowerCase()) ?? lines.stages.at(-1);
      n = stage?.lines[at.step - 1];
    }
    return n === undefined ? undefined : `${lines.file}:${n}`;
  }

  /** The step that failed, else the last one begun. */
  current(): string | undefined {
    return this.failed ?? this.last;
  }
}

function short(instruction: string): string {
  const s = instruction.trim();
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
