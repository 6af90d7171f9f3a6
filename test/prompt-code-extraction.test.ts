import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadMbpp } from '../src/io/mbpp-source.ts';
import { extractCode } from '../src/prompt/code-extraction.ts';

const ADD = 'def add(a, b):\n    return a + b';

/** [what the model did, completion, expected code]. */
const cases: [string, string, string][] = [
  // Raw continuations of the thesis prompt ("... # Solution:").
  ['clean continuation', `\n${ADD}\n`, ADD],
  ['continuation then its own asserts', `\n${ADD}\n\nassert add(1, 2) == 3\nassert add(2, 2) == 4\n`, ADD],
  ['continuation then a repeated prompt', `\n${ADD}\n\n\nWrite a function to multiply two numbers.\n\nassert mul(2, 3) == 6\n\n# Solution:\ndef mul(a, b):\n    return a * b`, ADD],
  ['continuation then another "# Solution:"', `${ADD}\n\n# Solution:\ndef add(a, b):\n    return b + a`, ADD],
  ['continuation then if __name__', `${ADD}\n\nif __name__ == "__main__":\n    print(add(1, 2))`, ADD],
  ['continuation then a "# Test" section', `${ADD}\n\n# Test the function\nprint(add(1, 2))`, ADD],
  ['continuation then "# Example usage:"', `${ADD}\n\n# Example usage:\nresult = add(1, 2)\n`, ADD],
  ['continuation then a print driver', `${ADD}\n\nprint(add(3, 4))  # 7`, ADD],
  ['continuation then input() driver', `${ADD}\n\na, b = map(int, input().split())\nadd(a, b)`, ADD],
  ['continuation then trailing prose', `${ADD}\n\nThe function adds the two numbers and returns the result.`, ADD],
  ['continuation then "Explanation:" label', `${ADD}\n\nExplanation:\n- we add a and b`, ADD],
  ['continuation then a docstring-style new problem', `${ADD}\n\n"""\nWrite a function to find the max.\nassert find_max([1]) == 1\n"""`, ADD],
  ['continuation then doctest prompt', `${ADD}\n>>> add(1, 2)\n3`, ADD],
  [
    'imports and helper functions are kept',
    'import math\nfrom functools import reduce\n\ndef lcm(a, b):\n    return a * b // math.gcd(a, b)\n\ndef lcm_all(xs):\n    return reduce(lcm, xs)\n\nassert lcm_all([2, 3]) == 6',
    'import math\nfrom functools import reduce\n\ndef lcm(a, b):\n    return a * b // math.gcd(a, b)\n\ndef lcm_all(xs):\n    return reduce(lcm, xs)',
  ],
  [
    'module constants, classes and decorators are kept',
    'R = 3\nMOD: int = 10**9 + 7\n\n@lru_cache(None)\ndef f(n):\n    return n\n\nclass Pair:\n    pass\n\nassert f(1) == 1',
    'R = 3\nMOD: int = 10**9 + 7\n\n@lru_cache(None)\ndef f(n):\n    return n\n\nclass Pair:\n    pass',
  ],
  [
    'asserts and prose inside a function are never cut',
    'def f(xs):\n    assert xs, "empty"\n    # Test each element\n    for x in xs:\n        print(x)\n    return True\n\nassert f([1])',
    'def f(xs):\n    assert xs, "empty"\n    # Test each element\n    for x in xs:\n        print(x)\n    return True',
  ],
  [
    'multi-line strings and brackets do not look like new statements',
    'def banner():\n    return """\nWrite a function to\nassert nothing\n"""\n\nTABLE = [\n1,\n2,\n]\nassert banner()',
    'def banner():\n    return """\nWrite a function to\nassert nothing\n"""\n\nTABLE = [\n1,\n2,\n]',
  ],
  ['a prompt echo before the code is skipped', `Write a function to add two numbers.\n\nassert add(1, 2) == 3\n\n# Solution:\n${ADD}\n\nassert add(0, 0) == 0`, ADD],
  ['Windows line endings', `\r\n${ADD.replace(/\n/g, '\r\n')}\r\n\r\nassert add(1, 2) == 3\r\n`, ADD],
  ['uniformly indented continuation is dedented', `    def add(a, b):\n        return a + b\n\n    assert add(1, 2) == 3`, ADD],
  ['tab-indented code keeps its tabs', 'def f(x):\n\tif x:\n\t\treturn 1\n\treturn 0\n\nassert f(1) == 1', 'def f(x):\n\tif x:\n\t\treturn 1\n\treturn 0'],
  ['a lambda solution', 'add = lambda a, b: a + b\nassert add(1, 2) == 3', 'add = lambda a, b: a + b'],
  ['empty completion', '', ''],
  ['whitespace only', '  \n\n\t\n', ''],
  ['prose only', 'I am not sure how to solve this problem.', ''],
  ['asserts only', 'assert add(1, 2) == 3\nassert add(2, 2) == 4', ''],
  ['gemma base model end-of-turn token', `${ADD}<end_of_turn>\n<start_of_turn>user\nWrite another function`, ADD],
  ['endoftext token then garbage', `${ADD}\n<|endoftext|>def junk(): pass`, ADD],

  // Chat-style answers with fenced blocks.
  ['a python fence with prose around it', `Here is the solution:\n\n\`\`\`python\n${ADD}\n\`\`\`\n\nThis works because addition is commutative.`, ADD],
  ['a bare fence', `\`\`\`\n${ADD}\n\`\`\``, ADD],
  ['a py fence with trailing asserts inside', `\`\`\`py\n${ADD}\n\nassert add(1, 2) == 3\nprint("ok")\n\`\`\``, ADD],
  ['gemma chat with turn markers', `<start_of_turn>model\n\`\`\`python\n${ADD}\n\`\`\`<end_of_turn>`, ADD],
  [
    'solution block then a usage block',
    `\`\`\`python\n${ADD}\n\`\`\`\n\nExample usage:\n\n\`\`\`python\nprint(add(1, 2))  # 3\n\`\`\``,
    ADD,
  ],
  [
    'solution block then a test-function block is dropped',
    `\`\`\`python\n${ADD}\n\`\`\`\n\nTests:\n\`\`\`python\ndef test_add():\n    assert add(1, 2) == 3\n\ntest_add()\n\`\`\``,
    ADD,
  ],
  [
    'helper and main function in separate blocks are joined',
    'First a helper:\n```python\nimport math\n\ndef is_prime(n):\n    return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))\n```\nThen the answer:\n```python\ndef count_primes(xs):\n    return sum(map(is_prime, xs))\n```',
    'import math\n\ndef is_prime(n):\n    return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))\n\ndef count_primes(xs):\n    return sum(map(is_prime, xs))',
  ],
  [
    'an import-only block is kept with the definitions',
    '```python\nimport re\n```\n```python\ndef words(s):\n    return re.findall(r"\\w+", s)\n```',
    'import re\n\ndef words(s):\n    return re.findall(r"\\w+", s)',
  ],
  ['the same block repeated appears once', `\`\`\`python\n${ADD}\n\`\`\`\nAgain:\n\`\`\`python\n${ADD}\n\`\`\``, ADD],
  ['non-python fences are ignored', `\`\`\`bash\npip install numpy\n\`\`\`\n\`\`\`python\n${ADD}\n\`\`\`\n\`\`\`text\n3\n\`\`\``, ADD],
  ['only a non-python fence: the code outside it is used', `${ADD}\n\`\`\`output\n3\n\`\`\``, ADD],
  ['an unclosed fence (token limit) runs to the end', `Sure!\n\`\`\`python\n${ADD}\n`, ADD],
  ['a fence indented under a list item is dedented', `1. Define it:\n   \`\`\`python\n   ${ADD.replace('\n', '\n   ')}\n   \`\`\``, ADD],
  ['CRLF chat answer', `Here you go:\r\n\`\`\`python\r\n${ADD.replace(/\n/g, '\r\n')}\r\n\`\`\`\r\n`, ADD],
  ['a tilde fence', `~~~python\n${ADD}\n~~~`, ADD],
  ['a <think> section is ignored', `<think>\nMaybe def add(a, b): return a - b?\n\`\`\`python\ndef add(a, b):\n    return a - b\n\`\`\`\n</think>\n\`\`\`python\n${ADD}\n\`\`\``, ADD],
  ['a think section opened in the prompt', `I should add them.\n</think>\n\n${ADD}`, ADD],
  ['fenced block with a lambda only', '```python\nadd = lambda a, b: a + b\n```', 'add = lambda a, b: a + b'],
  ['markdown bold and bullets after the code', `${ADD}\n\n**Explanation:**\n- adds`, ADD],
];

describe('extractCode', () => {
  test('has many cases', () => assert.ok(cases.length >= 30));
  for (const [name, completion, expected] of cases) {
    test(name, () => {
      assert.equal(extractCode(completion), expected);
    });
  }
});

const fullDataset = process.env.MBPP_STREAM_DATASET;
describe('on the reference solutions', { skip: fullDataset ? false : 'MBPP_STREAM_DATASET is not set' }, () => {
  test('every one of the 974 survives extraction unchanged (line endings normalised)', async () => {
    const { records } = await loadMbpp(fullDataset ?? '');
    const changed = records
      .filter((record) => extractCode(record.code) !== record.code.replace(/\r\n?/g, '\n').replace(/^\n+/, '').replace(/\s+$/, ''))
      .map((record) => record.task_id);
    assert.deepEqual(changed, []);
  });

  test('a reference solution followed by its own asserts yields the solution', async () => {
    const { records } = await loadMbpp(fullDataset ?? '');
    const changed = records
      .filter((record) => {
        const code = record.code.replace(/\r\n?/g, '\n').replace(/\s+$/, '');
        return extractCode(`\n${code}\n\n${record.test_list.join('\n')}\n`) !== code.replace(/^\n+/, '');
      })
      .map((record) => record.task_id);
    assert.deepEqual(changed, []);
  });
});
