/**
 * The logging the operators do, as a structural type: a pino `Logger` fits, and so does a test double.
 * Operators never create a logger; they log only when given one.
 */
export interface OperatorLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}
