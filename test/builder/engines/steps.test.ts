import { describe, expect, test } from '@jest/globals';
import { StepTracker } from '../../../src/builder/engines/steps.js';

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
