/**
 * Follows an engine's progress lines to say which Dockerfile step was running:
 * buildah `STEP 2/3: RUN make` (multi-stage: `[1/2] STEP 2/3: RUN make`), classic Docker
 * `Step 2/3 : RUN make`, BuildKit's plain progress `#7 [builder 2/3] RUN make` (with
 * `#7 ERROR: ...` marking the one that failed, as its steps run at once).
 */
export class StepTracker {
  private last: string | undefined;
  private failed: string | undefined;
  private readonly buildkit = new Map<string, string>();

  /** `hidden`: steps berth added at the start of the Dockerfile, subtracted from classic Docker's numbers. */
  constructor(private readonly hidden = 0) {}

  see(line: string): void {
    let m = /^(?:\[(\d+)\/(\d+)\] )?STEP (\d+)\/(\d+): (.*)$/.exec(line);
    if (m) {
      const stage = m[1] ? `stage ${m[1]}/${m[2]}, ` : '';
      this.last = `${stage}step ${m[3]}/${m[4]} (${short(m[5]!)})`;
      return;
    }
    m = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
    if (m) {
      this.last = `step ${Number(m[1]) - this.hidden}/${Number(m[2]) - this.hidden} (${short(m[3]!)})`;
      return;
    }
    m = /^#(\d+) \[(?:(\S+) )?(\d+)\/(\d+)\] (.*)$/.exec(line);
    if (m) {
      const stage = m[2] ? `stage ${m[2]}, ` : '';
      const step = `${stage}step ${m[3]}/${m[4]} (${short(m[5]!)})`;
      this.buildkit.set(m[1]!, step);
      this.last = step;
      return;
    }
    m = /^#(\d+) ERROR: /.exec(line);
    if (m && this.failed === undefined) this.failed = this.buildkit.get(m[1]!);
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
