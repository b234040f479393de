// Every string that comes from a trace (scenario names, statements, notes, policy text) is
// text, never markup: it goes through one of these before it reaches the page.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML and SVG element content and quoted attribute values. */
export function esc(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>`, `&` and the line separators
 * are written as \u escapes, so that no string can close the script element.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A git.kernel.org link for a commit id, if it is one (hex only, so it needs no escaping beyond esc). */
export function commitUrl(id: string): string | null {
  return /^[0-9a-f]{7,40}$/.test(id) ? `https://git.kernel.org/torvalds/c/${id}` : null;
}
