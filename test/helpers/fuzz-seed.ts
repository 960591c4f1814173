// Runs before every test file: the property tests (fast-check) draw their inputs from one fixed
// seed, so a CI run is repeatable and a red run can be replayed. BERTH_FUZZ_SEED=N picks
// another seed, BERTH_FUZZ_SEED=random a new one each run (what to do when hunting for new
// cases; a failure prints its seed and path, to be kept as a regression case).
import fc from 'fast-check';

const wanted = process.env.BERTH_FUZZ_SEED ?? '20261205';
if (wanted !== 'random') fc.configureGlobal({ seed: Number(wanted) });
