/**
 * Typed reads of one field of a located row. Each failure is an `InputError` naming the row's file and line (or
 * row) and the field, so one bad line in a thousand is found at once.
 */
import { InputError } from '../errors.js';
import { rowLocation, type LocatedRow } from './table-rows.js';

export function fieldError(row: LocatedRow, field: string, problem: string): InputError {
  return new InputError(`${rowLocation(row)}: field "${field}" ${problem}`);
}

function fieldsOf(row: LocatedRow): Record<string, unknown> {
  return row.value as Record<string, unknown>;
}

/** Whether the row has the field with a non-null value (Parquet stores absent values as null). */
export function hasField(row: LocatedRow, field: string): boolean {
  const value = fieldsOf(row)[field];
  return value !== undefined && value !== null;
}

export function requireField(row: LocatedRow, field: string): unknown {
  if (!hasField(row, field)) throw fieldError(row, field, 'is missing');
  return fieldsOf(row)[field];
}

export function requireString(row: LocatedRow, field: string): string {
  const value = requireField(row, field);
  if (typeof value !== 'string') throw fieldError(row, field, `must be a string, got ${describe(value)}`);
  return value;
}

export function requireInteger(row: LocatedRow, field: string): number {
  const value = requireField(row, field);
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw fieldError(row, field, `must be an integer, got ${describe(value)}`);
  }
  return value;
}

export function requireStringList(row: LocatedRow, field: string): string[] {
  const value = requireField(row, field);
  if (!Array.isArray(value)) throw fieldError(row, field, `must be a list of strings, got ${describe(value)}`);
  value.forEach((item, index) => {
    if (typeof item !== 'string') {
      throw fieldError(row, field, `must be a list of strings, item ${index} is ${describe(item)}`);
    }
  });
  return value as string[];
}

/** A short, bounded description of a JSON value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
