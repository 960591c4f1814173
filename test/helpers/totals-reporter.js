// Prints jest's totals as one plain line, `N passed, N failed[, N skipped]`, which CI reads.
// The counts are those of jest's own `Tests:` line. Suites that failed to run (a syntax error,
// a crash in beforeAll outside any test) have no test counted; they are named in words on the
// line before, so the last line always agrees with jest's summary.
export default class TotalsReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const broken = results.testResults.filter((r) => r.testExecError || (r.failureMessage && r.numFailingTests === 0 && r.numPassingTests === 0));
    let out = '\n';
    if (broken.length > 0) {
      const names = broken.map((r) => r.testFilePath.replace(`${process.cwd()}/`, '')).join(', ');
      out += `${broken.length} test ${broken.length === 1 ? 'suite' : 'suites'} failed to run: ${names}\n`;
    }
    out += `${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
    process.stdout.write(out);
  }
}
