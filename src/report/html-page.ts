import { escapeHtml } from './html-escape.js';

/**
 * A self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched), so a report can be mailed or
 * attached to a paper's supplementary material and still open years later.
 */
export function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; padding: 0 1rem; max-width: 60rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.75rem; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.headline { font-size: 1.25rem; }
.note { color: #555; }
figure { margin: 1rem 0; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** A table of escaped cells, numbers right-aligned; `<p>none</p>` for no rows. */
export function htmlTable(header: string[], rows: (string | number)[][]): string {
  if (rows.length === 0) return '<p>none</p>';
  const head = header.map((title) => `<th>${escapeHtml(title)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${row.map((cell) => (typeof cell === 'number' ? `<td class="n">${cell}</td>` : `<td>${escapeHtml(cell)}</td>`)).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A bulleted list of escaped lines. */
export function htmlList(items: readonly string[]): string {
  return `<ul>${items.map((item) => `<li>${escapeHtml(item)}</li>`).join('')}</ul>`;
}
