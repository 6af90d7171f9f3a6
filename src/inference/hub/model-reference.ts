/** `org/name[@revision]` as typed after `--model`: a model repo on the Hub and the branch, tag or commit wanted. */
export interface ModelReference {
  /** `google/gemma-2-2b` (or a legacy id without an owner, `gpt2`). */
  repo: string;
  /** A branch, tag or 40-hex commit; `main` when none was given. */
  revision: string;
  /** Whether `@revision` was typed, so names and messages repeat it only then. */
  explicitRevision: boolean;
}

/** The Hub's repo id rule: letters, digits, `-`, `_`, `.`; no `--` or `..`; not starting or ending with `-` or `.`. */
const NAME_PART = /^(?![-.])(?!.*(--|\.\.))[\w.-]{1,96}(?<![-.])$/;

export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** The id, or undefined when `text` cannot name a Hub model (a path such as `./model` or `/data/x`). */
export function parseModelReference(text: string): ModelReference | undefined {
  const at = text.indexOf('@');
  const repo = at < 0 ? text : text.slice(0, at);
  const revision = at < 0 ? '' : text.slice(at + 1);
  const parts = repo.split('/');
  if (parts.length > 2 || !parts.every((part) => NAME_PART.test(part))) return undefined;
  if (at >= 0 && (revision === '' || /\s|\.\./.test(revision))) return undefined;
  return { repo, revision: revision || 'main', explicitRevision: at >= 0 };
}

/** `org/name` or `org/name@revision`, as the user typed it. */
export function formatModelReference(ref: ModelReference): string {
  return ref.explicitRevision ? `${ref.repo}@${ref.revision}` : ref.repo;
}
