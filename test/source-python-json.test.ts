import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { arrayElements, objectFields, parseValue, PythonJsonSyntaxError } from '../src/io/python-json.ts';

function syntaxError(run: () => unknown): PythonJsonSyntaxError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof PythonJsonSyntaxError, `expected PythonJsonSyntaxError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a PythonJsonSyntaxError');
}

describe('objectFields', () => {
  test('splits a line into each field and the raw text of its value, in order', () => {
    const fields = objectFields('{"task_id": "Mbpp/2", "atol": 0, "ok": true, "none": null, "inputs": [[1, 2], [3]]}');
    assert.deepEqual([...fields], [
      ['task_id', '"Mbpp/2"'],
      ['atol', '0'],
      ['ok', 'true'],
      ['none', 'null'],
      ['inputs', '[[1, 2], [3]]'],
    ]);
  });

  test('reads Python-only numbers as raw text: Infinity, -Infinity, NaN and an integer past 2^53 kept exactly', () => {
    const line = '{"base_input": [[-Infinity, Infinity], [NaN, 10000000000000000000000]], "x": -9999999999999999999999}';
    const fields = objectFields(line);
    assert.equal(fields.get('base_input'), '[[-Infinity, Infinity], [NaN, 10000000000000000000000]]');
    assert.equal(fields.get('x'), '-9999999999999999999999');
    assert.deepEqual(arrayElements(fields.get('base_input') ?? ''), ['[-Infinity, Infinity]', '[NaN, 10000000000000000000000]']);
  });

  test('strings may hold brackets, braces, escaped quotes, backslashes and the words NaN and Infinity', () => {
    const tricky = 'a [b] {c} "quoted" \\ back } ] NaN Infinity -Infinity , :';
    const line = JSON.stringify({ prompt: tricky, inputs: [[tricky, '}'], ['\\"']] });
    const fields = objectFields(line);
    assert.equal(parseValue(fields.get('prompt') ?? ''), tricky);
    const elements = arrayElements(fields.get('inputs') ?? '');
    assert.equal(elements.length, 2);
    assert.deepEqual(JSON.parse(elements[0] ?? ''), [tricky, '}']);
    assert.deepEqual(JSON.parse(elements[1] ?? ''), ['\\"']);
  });

  test('nested objects, empty containers, exponents and compact separators', () => {
    const fields = objectFields('{"a":{"k":[{}, []],"j":{"x":1}},"b":[],"c":{},"d":-1.5e-3,"e":"\\u00e9"}');
    assert.deepEqual([...fields.keys()], ['a', 'b', 'c', 'd', 'e']);
    assert.equal(fields.get('a'), '{"k":[{}, []],"j":{"x":1}}');
    assert.equal(fields.get('c'), '{}');
    assert.equal(parseValue(fields.get('d') ?? ''), -0.0015);
    assert.equal(parseValue(fields.get('e') ?? ''), 'é');
    assert.deepEqual([...objectFields(' { } ')], []);
  });

  test('deep nesting does not overflow the stack', () => {
    const depth = 100_000;
    const fields = objectFields(`{"deep": ${'['.repeat(depth)}${']'.repeat(depth)}}`);
    assert.equal(fields.get('deep')?.length, 2 * depth);
  });

  const malformed: [string, string, RegExp][] = [
    ['not an object', '[1, 2]', /expected '\{' at column 1/],
    ['unterminated string', '{"a": "abc}', /unterminated string from column 7/],
    ['missing colon', '{"a" 1}', /expected ':' at column 6/],
    ['trailing comma', '{"a": [1, 2,]}', /expected a value at column 13/],
    ['unclosed array', '{"a": [1, 2}', /expected '\]' at column 12/],
    ['text after the object', '{"a": 1} x', /unexpected text after the value at column 10/],
    ['leading zero', '{"a": 01}', /malformed number at column 8/],
    ['bare word', '{"a": nan}', /expected a value at column 7/],
    ['Infinity glued to a word', '{"a": Infinityx}', /expected a value at column 7/],
    ['duplicate key', '{"a": 1, "a": 2}', /duplicate key "a"/],
    ['unquoted key', '{a: 1}', /expected '"' at column 2/],
    ['empty line', '', /expected '\{' at column 1, found the end/],
  ];
  for (const [name, line, message] of malformed) {
    test(`malformed: ${name}`, () => {
      assert.match(syntaxError(() => objectFields(line)).message, message);
    });
  }
});

describe('arrayElements', () => {
  test('an empty array has no elements; whitespace is allowed anywhere', () => {
    assert.deepEqual(arrayElements('[]'), []);
    assert.deepEqual(arrayElements(' [ ] '), []);
    assert.deepEqual(arrayElements('[ [1] ,\n[ "]" ] ]'), ['[1]', '[ "]" ]']);
  });

  test('elements of any kind are returned as written', () => {
    assert.deepEqual(arrayElements('[1, "a", {"b": [2]}, NaN]'), ['1', '"a"', '{"b": [2]}', 'NaN']);
  });

  test('anything but an array is a syntax error', () => {
    assert.match(syntaxError(() => arrayElements('{}')).message, /expected '\['/);
  });
});

describe('parseValue', () => {
  test('reads the non-finite floats and JSON scalars', () => {
    assert.ok(Number.isNaN(parseValue('NaN')));
    assert.equal(parseValue('Infinity'), Infinity);
    assert.equal(parseValue(' -Infinity '), -Infinity);
    assert.equal(parseValue('1e-4'), 0.0001);
    assert.equal(parseValue('"x"'), 'x');
    assert.equal(parseValue('null'), null);
  });

  test('text JSON.parse cannot read is a syntax error', () => {
    assert.match(syntaxError(() => parseValue('[NaN]')).message, /unreadable value/);
  });
});
