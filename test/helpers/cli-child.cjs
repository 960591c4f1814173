// Runs berth commands one after another in this process, for test/helpers/cli-runner.ts:
// each request is a JSON line on stdin ({id, argv, cwd, env}); each answer a JSON line on
// fd 3 ({id, code, stdout, stderr}). Anything written to the real stdout or stderr is output
// berth should not have made; the parent reads it as stray output.
const { createWriteStream } = require('node:fs');
const { createInterface } = require('node:readline');
const { main } = require('../../dist/lean/berth.cjs');

const answers = createWriteStream(null, { fd: 3 });
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(async () => {
    const { id, argv, cwd, env } = JSON.parse(line);
    let stdout = '';
    let stderr = '';
    let code;
    try {
      code = await main(argv, { stdout: { write: (s) => (stdout += s) }, stderr: { write: (s) => (stderr += s) }, env, cwd });
    } catch (err) {
      code = -1;
      stderr += `main() threw: ${(err && err.stack) || err}`;
    }
    answers.write(`${JSON.stringify({ id, code, stdout, stderr })}\n`);
  });
});
