// Errors raised while reading or checking a scenario. Every message starts with
// FILE:LINE:COL so editors and CI logs can jump to the offending token.

import type { SourcePos } from './ast.js';

export class ScenarioError extends Error {
  readonly file: string;
  /** 1-based line of the offending token or statement. */
  readonly line: number;
  /** 1-based column (UTF-16 code units) of the offending token or statement. */
  readonly col: number;
  /** What the reader expected at that point, when the error is of that shape. */
  readonly expected?: string;
  /** What it found instead (a short description of the token). */
  readonly found?: string;
  /** The message without the FILE:LINE:COL prefix. */
  readonly detail: string;

  constructor(pos: SourcePos, detail: string, expected?: string, found?: string) {
    const line = Number.isSafeInteger(pos.line) && pos.line >= 1 ? pos.line : 1;
    const col = Number.isSafeInteger(pos.col) && pos.col >= 1 ? pos.col : 1;
    super(`${pos.file}:${line}:${col}: ${detail}`);
    this.name = 'ScenarioError';
    this.file = pos.file;
    this.line = line;
    this.col = col;
    this.detail = detail;
    if (expected !== undefined) this.expected = expected;
    if (found !== undefined) this.found = found;
  }

  /** `FILE:LINE:COL: expected X, found Y` */
  static expected(pos: SourcePos, expected: string, found: string): ScenarioError {
    return new ScenarioError(pos, `expected ${expected}, found ${found}`, expected, found);
  }
}
