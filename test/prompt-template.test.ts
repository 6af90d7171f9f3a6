import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InputError } from '../src/errors.ts';
import { splitPlusPrompt } from '../src/prompt/plus-prompt.ts';
import { loadPromptTemplate, mbppPlusTemplate, parsePromptTemplate, THESIS_TEMPLATE, thesisTemplate } from '../src/prompt/prompt-template.ts';
import type { PlusTask } from '../src/records.ts';

const record = {
  text: 'Write a function to add two numbers.',
  test_list: ['assert add(1, 2) == 3', 'assert add(0, 0) == 0', "assert add(-1, 1) == 0"],
};

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prompt-template-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('thesis template', () => {
  test('renders text, a blank line, the tests one per line, a blank line, "# Solution:"', () => {
    assert.equal(
      thesisTemplate().render(record),
      'Write a function to add two numbers.\n\nassert add(1, 2) == 3\nassert add(0, 0) == 0\nassert add(-1, 1) == 0\n\n# Solution:',
    );
  });

  test('exposes its text for hashing, and its origin', () => {
    assert.equal(thesisTemplate().text, THESIS_TEMPLATE);
    assert.equal(thesisTemplate().origin, 'builtin:thesis');
  });

  test('braces and placeholder-like text inside a problem are not expanded', () => {
    const tricky = { text: 'Return {tests} as a dict like {"a": 1}.', test_list: ['assert f("{text}") == {}'] };
    assert.equal(thesisTemplate().render(tricky), 'Return {tests} as a dict like {"a": 1}.\n\nassert f("{text}") == {}\n\n# Solution:');
  });
});

describe('user template file', () => {
  test('is used byte for byte, with both placeholders, escapes and literal braces', async () => {
    const path = join(dir, 'chat.txt');
    await writeFile(path, 'Task: {text}\nTests:\n{tests}\nReturn {{"code": ...}} or {"x": 1}.\n');
    const template = await loadPromptTemplate(path);
    assert.equal(template.origin, path);
    assert.equal(template.text, 'Task: {text}\nTests:\n{tests}\nReturn {{"code": ...}} or {"x": 1}.\n');
    assert.equal(
      template.render(record),
      'Task: Write a function to add two numbers.\nTests:\nassert add(1, 2) == 3\nassert add(0, 0) == 0\nassert add(-1, 1) == 0\nReturn {"code": ...} or {"x": 1}.\n',
    );
  });

  test('{tests} is optional; a placeholder may repeat', () => {
    assert.equal(parsePromptTemplate('{text} / {text}', 'f').render(record), `${record.text} / ${record.text}`);
  });

  test('an unknown placeholder is an InputError naming the file, line and placeholder', () => {
    assert.throws(
      () => parsePromptTemplate('{text}\n\n{test_list}\n', '/tmp/t.txt'),
      (error: unknown) =>
        error instanceof InputError &&
        /^--prompt-template \/tmp\/t\.txt, line 3: unknown placeholder \{test_list\} \(known: \{text\}, \{tests\}/.test(error.message),
    );
  });

  test('a template without {text} is an InputError naming the file', () => {
    assert.throws(
      () => parsePromptTemplate('{tests}\n# Solution:', '/tmp/t.txt'),
      (error: unknown) => error instanceof InputError && /^--prompt-template \/tmp\/t\.txt: has no \{text\} placeholder/.test(error.message),
    );
    assert.throws(() => parsePromptTemplate('{{text}}', 'escaped.txt'), /escaped\.txt: has no \{text\}/);
  });

  test('a missing file is an InputError naming the flag and path', async () => {
    await assert.rejects(loadPromptTemplate(join(dir, 'absent.txt')), (error: unknown) => {
      return error instanceof InputError && /^--prompt-template .*absent\.txt: cannot read \(ENOENT\)/.test(error.message);
    });
  });
});

describe('MBPP+ prompts', () => {
  const plusPrompt = '"""\nWrite a function to find the shared elements from the given two lists.\nassert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n"""\n';
  const plus = { prompt: plusPrompt } as PlusTask;
  const unjoined = { text: 'Write a function to find the shared elements from the given two lists.', test_list: [], plus };

  test('the MBPP+ prompt splits into its statement and its assert', () => {
    assert.deepEqual(splitPlusPrompt(plusPrompt), {
      statement: 'Write a function to find the shared elements from the given two lists.',
      asserts: ['assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))'],
    });
    assert.deepEqual(splitPlusPrompt("'''\nTwo lines\nof statement.\n  assert f(1) == 2\nassert f(2) == 3\n'''"), {
      statement: 'Two lines\nof statement.',
      asserts: ['assert f(1) == 2', 'assert f(2) == 3'],
    });
    assert.deepEqual(splitPlusPrompt('no docstring'), { statement: 'no docstring', asserts: [] });
  });

  test('without a template file an MBPP+ problem is prompted with its MBPP+ prompt, verbatim', () => {
    const template = mbppPlusTemplate();
    assert.equal(template.render(unjoined), plusPrompt);
    assert.equal(template.origin, 'builtin:mbppplus');
    assert.throws(() => parsePromptTemplate(template.text, 'user.txt'), /unknown placeholder \{prompt\}/, 'no user template has its text');
    assert.throws(() => template.render(record), /without MBPP\+ data/);
  });

  test('a template fills {tests} with the MBPP+ assert when the problem has no asserts of its own', () => {
    assert.equal(
      thesisTemplate().render(unjoined),
      'Write a function to find the shared elements from the given two lists.\n\nassert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n\n# Solution:',
    );
  });

  test('joined with the original MBPP, the original asserts fill {tests}', () => {
    assert.equal(thesisTemplate().render({ ...record, plus }), thesisTemplate().render(record));
  });
});
