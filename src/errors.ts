/**
 * An error in what the user gave us (a flag, a file, a line of a file). The CLI prints its message as one
 * line, exits non-zero and writes nothing. The message must name the flag, file, line or field at fault.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    message: string,
    /** Process exit code; 2 as for a usage error. */
    readonly exitCode = 2,
  ) {
    super(message);
  }
}
