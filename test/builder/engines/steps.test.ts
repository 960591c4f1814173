import { describe, expect, test } from '@jest/globals';
import { StepTracker, stepLines } from '../../../src/builder/engines/steps.js';

const track = (lines: string[], hidden = 0) => {
  const t = new StepTracker(hidden);
  for (const l of lines) t.see(l);
  return t.current();
};

describe('StepTracker: which Dockerfile step an engine was at', () => {
  test('buildah, single and multi-stage', () => {
    expect(track(['STEP 1/2: FROM base', 'STEP 2/2: RUN make', 'error'])).toBe('step 2/2 (RUN make)');
    expect(track(['[1/2] STEP 1/3: FROM base AS b', '[1/2] STEP 3/3: RUN make all'])).toBe('stage 1/2, step 3/3 (RUN make all)');
  });

  test("classic Docker, less the steps berth added in front", () => {
    expect(track(['Step 1/3 : ARG BUILDPLATFORM', 'Step 3/3 : RUN exit 3', ' ---> Running in 717f'], 1)).toBe('step 2/2 (RUN exit 3)');
  });

  test('BuildKit: the step whose number reports ERROR, not the last one begun', () => {
    expect(track(['#5 [builder 2/3] RUN make', '#6 [stage-1 1/2] COPY a b', '#5 ERROR: executor failed', '#6 CANCELED'])).toBe('stage builder, step 2/3 (RUN make)');
  });

  test('long instructions are shortened; no step seen is undefined', () => {
    expect(track([`STEP 2/2: RUN ${'x'.repeat(200)}`])).toBe(`step 2/2 (RUN ${'x'.repeat(73)}...)`);
    expect(track(['Error: something'])).toBeUndefined();
  });
});

describe('StepTracker.line: the Dockerfile line of a step', () => {
  const lines = { file: 'Dockerfile', stages: [{ name: 'build', lines: [1, 2, 4] }, { lines: [6, 7, 9] }] };
  const at = (seen: string[], hidden = 0, l: typeof lines | null = lines) => {
    const t = new StepTracker(hidden);
    for (const s of seen) t.see(s);
    return [t.current(), t.line(l ?? undefined)];
  };

  test('buildah: the stage by number, the first when there is one', () => {
    expect(at(['STEP 2/3: COPY a b'])).toEqual(['step 2/3 (COPY a b)', 'Dockerfile:2']);
    expect(at(['[2/2] STEP 1/3: FROM base'])).toEqual(['stage 2/2, step 1/3 (FROM base)', 'Dockerfile:6']);
  });

  test('classic Docker: counted over the whole file, less the hidden steps', () => {
    expect(at(['Step 1/7 : ARG BUILDPLATFORM', 'Step 6/7 : RUN make'], 1)).toEqual(['step 5/6 (RUN make)', 'Dockerfile:7']);
  });

  test('BuildKit: a stage by its name in any case, an unnamed single stage, an unknown name as the last stage', () => {
    expect(at(['#4 [BUILD 3/3] RUN gen'])).toEqual(['stage BUILD, step 3/3 (RUN gen)', 'Dockerfile:4']);
    expect(at(['#4 [2/3] RUN gen'])).toEqual(['step 2/3 (RUN gen)', 'Dockerfile:2']);
    expect(at(['#4 [stage-1 3/3] RUN gen'])).toEqual(['stage stage-1, step 3/3 (RUN gen)', 'Dockerfile:9']);
  });

  test('BuildKit: the first step to report ERROR; an ERROR of a step never begun is not one', () => {
    expect(at(['#4 [build 2/3] RUN a', '#5 [stage-1 2/3] RUN b', '#5 ERROR: b failed', '#4 ERROR: a failed too'])).toEqual(['stage stage-1, step 2/3 (RUN b)', 'Dockerfile:7']);
    expect(at(['#4 [build 2/3] RUN a', '#9 ERROR: something'])).toEqual(['stage build, step 2/3 (RUN a)', 'Dockerfile:2']);
  });

  test('no line without lines, without a step, or for a step past the stage\'s end', () => {
    expect(at(['STEP 2/3: COPY a b'], 0, null)).toEqual(['step 2/3 (COPY a b)', undefined]);
    expect(at(['nothing here'])).toEqual([undefined, undefined]);
    expect(at(['STEP 9/9: RUN x'])).toEqual(['step 9/9 (RUN x)', undefined]);
  });

  test('an instruction of 80 characters is whole, of 81 shortened; spaces around it dropped', () => {
    const eighty = `RUN ${'y'.repeat(76)}`;
    expect(at([`STEP 1/1: ${eighty}`])[0]).toBe(`step 1/1 (${eighty})`);
    expect(at([`STEP 1/1: ${eighty}z`])[0]).toBe(`step 1/1 (${eighty.slice(0, 77)}...)`);
    expect(at(['Step 1/1 :   RUN make   '])[0]).toBe('step 1/1 (RUN make)');
  });
});

describe('stepLines: a parsed Dockerfile\'s stages as lines', () => {
  test('FROM first, then each instruction; names kept when there is one', () => {
    expect(
      stepLines({
        file: 'images/app/Dockerfile',
        stages: [
          { name: 'build', from: { line: 2 }, instructions: [{ line: 3 }, { line: 5 }] },
          { from: { line: 7 }, instructions: [] },
        ],
      }),
    ).toEqual({ file: 'images/app/Dockerfile', stages: [{ name: 'build', lines: [2, 3, 5] }, { lines: [7] }] });
  });
});

describe('StepTracker: numbers of several digits, and step-like text inside other lines', () => {
  test('two-digit steps, stages and BuildKit ids', () => {
    expect(track(['[10/11] STEP 12/13: RUN make'])).toBe('stage 10/11, step 12/13 (RUN make)');
    expect(track(['Step 10/12 : RUN make'])).toBe('step 10/12 (RUN make)');
    expect(track(['#12 [build 10/12] RUN make', '#13 [other 11/12] RUN b', '#12 ERROR: failed'])).toBe('stage build, step 10/12 (RUN make)');
  });

  test('a RUN\'s own output that mentions a step does not move the step', () => {
    expect(track(['STEP 2/2: RUN ./build.sh', 'log: STEP 9/9: tool output', 'echo Step 8/9 : x', 'x #7 [a 1/1] y', 'x #7 ERROR: y'])).toBe('step 2/2 (RUN ./build.sh)');
  });
});

describe('StepTracker: where an ERROR points', () => {
  const lines = { file: 'Dockerfile', stages: [{ name: 'build', lines: [1, 2, 4] }, { lines: [6, 7, 9] }] };
  const line = (seen: string[]) => {
    const t = new StepTracker();
    for (const s of seen) t.see(s);
    return [t.current(), t.line(lines)];
  };

  test('the line of the step that failed, not of the last one begun; "#n ERROR" inside another line is no failure', () => {
    expect(line(['#5 [build 2/3] RUN a', '#6 [stage-1 1/3] COPY x y', '#5 ERROR: x'])).toEqual(['stage build, step 2/3 (RUN a)', 'Dockerfile:2']);
    expect(line(['#7 [build 2/3] RUN a', '#8 [build 3/3] RUN b', 'echo #7 ERROR: fake'])).toEqual(['stage build, step 3/3 (RUN b)', 'Dockerfile:4']);
  });

  test('a stage number past the Dockerfile\'s stages has no line', () => {
    expect(line(['[3/3] STEP 1/2: FROM x'])).toEqual(['stage 3/3, step 1/2 (FROM x)', undefined]);
  });
});
