// Reads vitest's JSON report and prints the plain "N passed, M failed" line CI ends with.
import { readFileSync } from "node:fs";

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, "utf8"));
} catch (err) {
  /* the type check failed, or vitest did not get to write its report */
  console.log(`no test report: ${err.message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const failed = report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0);
console.log(`${report.numPassedTests} passed, ${failed} failed`);
process.exit(failed === 0 && report.success ? 0 : 1);
