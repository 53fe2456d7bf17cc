/**
 * An error the modelled kernel or the scenario's expectations produce, not a
 * fault of the emulator: thrown and caught as control flow, so no stack is
 * captured (a loop of failing operations spent a quarter of its time on
 * stacks nobody reads).
 */
export class ExpectedError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}
