// Lexer of the scenario language. It is pulled one token at a time by the parser,
// so that the parser can switch to era mode after `expect` (era names such as
// `v5.8..v6.1` are not ordinary tokens).

import type { SourcePos } from './ast.js';
import { ScenarioError } from './errors.js';

export type TokenKind = 'ident' | 'int' | 'string' | 'punct' | 'newline' | 'era' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Identifier name, punctuation, string contents (unescaped), era text, or the digits of an integer. */
  value: string;
  /** Value of an integer token; 0 otherwise. */
  num: number;
  line: number;
  col: number;
  /** Offsets of the token in the source text: [start, end). */
  start: number;
  end: number;
}

const PUNCT2 = ['==', '!=', '&&', '||'];
const PUNCT1 = '(){},;=!|+-*.';

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
function isIdentChar(c: string): boolean {
  return isIdentStart(c) || isDigit(c);
}
/** Characters an era name may contain: [A-Za-z0-9_.+-]. */
export function isEraChar(c: string): boolean {
  return isIdentChar(c) || c === '.' || c === '+' || c === '-';
}

/** A printable rendering of one character for error messages. */
export function showChar(s: string, i: number): string {
  const cp = s.codePointAt(i) ?? 0;
  if (cp >= 0x21 && cp <= 0x7e) return `'${String.fromCodePoint(cp)}'`;
  if (cp === 0x20) return `' '`;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** How a token is described after "found" in error messages. */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of file';
    case 'newline':
      return 'end of line';
    case 'string':
      return `string "${t.value.length > 40 ? t.value.slice(0, 40) + '...' : t.value}"`;
    case 'ident':
    case 'int':
    case 'era':
    case 'punct':
      return `'${t.value}'`;
  }
}

export class Lexer {
  private i = 0;
  private line = 1;
  private col = 1;
  /** Open '(' count: line breaks inside parentheses do not end a statement. */
  private depth = 0;

  constructor(
    readonly src: string,
    readonly file: string,
  ) {}

  private pos(): SourcePos {
    return { file: this.file, line: this.line, col: this.col };
  }

  private bump(n = 1): void {
    for (let k = 0; k < n && this.i < this.src.length; k++) {
      if (this.src[this.i] === '\n') {
        this.line++;
        this.col = 1;
      } else {
        this.col++;
      }
      this.i++;
    }
  }

  private tok(kind: TokenKind, value: string, start: number, line: number, col: number, num = 0): Token {
    return { kind, value, num, line, col, start, end: this.i };
  }

  /**
   * Skips blanks and comments. Returns a newline token when a line break
   * (possibly inside a block comment) ends a statement, otherwise null.
   */
  private skipTrivia(): Token | null {
    const s = this.src;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
        this.bump();
      } else if (c === '\n') {
        if (this.depth > 0) {
          this.bump();
          continue;
        }
        const start = this.i;
        const line = this.line;
        const col = this.col;
        this.bump();
        return this.tok('newline', '\n', start, line, col);
      } else if (c === '#' || (c === '/' && s[this.i + 1] === '/')) {
        while (this.i < s.length && s[this.i] !== '\n') this.bump();
      } else if (c === '/' && s[this.i + 1] === '*') {
        const start = this.i;
        const p = this.pos();
        const close = s.indexOf('*/', this.i + 2);
        if (close < 0) throw new ScenarioError(p, 'unterminated block comment (missing */)');
        const hasNewline = s.slice(this.i, close).includes('\n');
        this.bump(close + 2 - this.i);
        if (hasNewline && this.depth === 0) return this.tok('newline', '\n', start, p.line, p.col);
      } else {
        return null;
      }
    }
    return null;
  }

  /** Next token in ordinary mode. */
  next(): Token {
    const nl = this.skipTrivia();
    if (nl) return nl;
    const s = this.src;
    const start = this.i;
    const line = this.line;
    const col = this.col;
    if (this.i >= s.length) return this.tok('eof', '', start, line, col);
    const c = s[this.i];

    if (isIdentStart(c)) {
      while (this.i < s.length && isIdentChar(s[this.i])) this.bump();
      return this.tok('ident', s.slice(start, this.i), start, line, col);
    }

    if (isDigit(c)) {
      while (this.i < s.length && isIdentChar(s[this.i])) this.bump();
      const text = s.slice(start, this.i);
      let num: number;
      if (/^[0-9]+$/.test(text)) num = Number(text);
      else if (/^0[xX][0-9a-fA-F]+$/.test(text)) num = parseInt(text.slice(2), 16);
      else throw ScenarioError.expected({ file: this.file, line, col }, 'a decimal or 0x hexadecimal integer', `'${text}'`);
      if (!Number.isSafeInteger(num)) {
        throw new ScenarioError({ file: this.file, line, col }, `integer '${text}' is too large`);
      }
      return this.tok('int', text, start, line, col, num);
    }

    if (c === '"') {
      this.bump();
      let value = '';
      for (;;) {
        if (this.i >= s.length || s[this.i] === '\n') {
          throw new ScenarioError({ file: this.file, line, col }, 'unterminated string (strings end with " on the same line)');
        }
        const d = s[this.i];
        if (d === '"') {
          this.bump();
          break;
        }
        if (d === '\\') {
          const e = s[this.i + 1];
          if (e === '"' || e === '\\') {
            value += e;
            this.bump(2);
            continue;
          }
          const p = this.pos();
          const shown = e === undefined || e === '\n' ? 'end of line' : `'\\${e}'`;
          throw ScenarioError.expected(p, 'an escape \\" or \\\\ in a string', shown);
        }
        value += d;
        this.bump();
      }
      return this.tok('string', value, start, line, col);
    }

    const two = s.slice(this.i, this.i + 2);
    if (PUNCT2.includes(two)) {
      this.bump(2);
      return this.tok('punct', two, start, line, col);
    }
    if (PUNCT1.includes(c)) {
      this.bump();
      if (c === '(') this.depth++;
      else if (c === ')' && this.depth > 0) this.depth--;
      return this.tok('punct', c, start, line, col);
    }
    throw new ScenarioError(this.pos(), `unexpected character ${showChar(s, this.i)}`);
  }

  /**
   * Era mode: skips blanks and comments on the current line, then returns the
   * longest run of [A-Za-z0-9_.+-] as an 'era' token (possibly empty, when the
   * next character cannot start an era; the parser then reports it).
   */
  nextEra(): Token {
    const nl = this.skipTrivia();
    if (nl) return nl;
    const s = this.src;
    const start = this.i;
    const line = this.line;
    const col = this.col;
    while (this.i < s.length && isEraChar(s[this.i])) this.bump();
    if (this.i === start) {
      // Not an era: lex it normally so the parser can describe it.
      return this.next();
    }
    return this.tok('era', s.slice(start, this.i), start, line, col);
  }
}
