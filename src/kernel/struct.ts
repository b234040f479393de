// A kernel struct laid out as words in a flat array of numbers, declared once as a schema. A
// state's records of one kind (struct page, for one) live end to end in a single array, so that
// copying them is one slice() and hashing or encoding them is one walk over integers; kernel
// paths read and write them by name through a view (`page.refcount += 1`), as the C does.

/**
 * A field of a struct: a number, a flag stored as 0 or 1, or (last only) the words that follow
 * the fixed fields, as many as the array of records gives each one (a page's contents).
 */
export type FieldKind = 'int' | 'bool' | 'tail';

/** A struct's fields in layout order: adding a field is one line. */
export type Schema = Readonly<Record<string, FieldKind>>;

/** What a view of a struct with this schema reads and writes. */
export type Fields<S extends Schema> = { -readonly [K in keyof S]: S[K] extends 'bool' ? boolean : S[K] extends 'tail' ? readonly number[] : number };

/** A view of one record: the array it lives in and where it starts. */
export interface RecordView {
  readonly words: number[];
  readonly base: number;
  /** The words of the tail field. */
  readonly tail: number;
}

export type View<S extends Schema> = Fields<S> & RecordView;

/** The name of the schema's tail field, if it has one. */
export type TailOf<S extends Schema> = { [K in keyof S]: S[K] extends 'tail' ? K : never }[keyof S];

export interface Struct<S extends Schema> {
  readonly schema: S;
  /** Word offset of each field within a record. */
  readonly offset: { readonly [K in keyof S]: number };
  /** Words of the fields (a record may carry more words after them, such as a page's contents). */
  readonly size: number;
  /** Writes every fixed field of the record at `base` (the tail is left as it is). */
  write(words: number[], base: number, fields: Omit<Fields<S>, TailOf<S>>): void;
  /** A view of the record at `base` in `words`, whose tail field is `tail` words long. */
  view(words: number[], base: number, tail?: number): View<S>;
}

/**
 * Lays out `schema` one word per field, in the order written, and builds its view: a class whose
 * accessors read and write those words. The accessors are generated with their offsets as
 * constants, one function per field (closures over an offset would share one function's
 * feedback and read the offset from their context), so that a kernel path's `page.refcount`
 * compiles to one load, as a property of a plain object would.
 */
export function defineStruct<S extends Schema>(name: string, schema: S): Struct<S> {
  const offset: Record<string, number> = {};
  const accessors: string[] = [];
  let at = 0;
  const entries = Object.entries(schema);
  for (const [n, [field, kind]] of entries.entries()) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field) || field === 'words' || field === 'base' || field === 'tail') throw new Error(`${name}.${field}: not a field name`);
    if (kind === 'tail' && n !== entries.length - 1) throw new Error(`${name}.${field}: only the last field may be the tail`);
    const i = kind === 'tail' ? at : at++;
    offset[field] = i;
    const word = `this.words[this.base + ${i}]`;
    if (kind === 'int') accessors.push(`get ${field}() { return ${word}; }`, `set ${field}(v) { ${word} = v; }`);
    else if (kind === 'bool') accessors.push(`get ${field}() { return ${word} !== 0; }`, `set ${field}(v) { ${word} = v ? 1 : 0; }`);
    // A copy: the record's words are changed in place, so no one may hold them.
    else {
      accessors.push(
        `get ${field}() { return this.words.slice(this.base + ${i}, this.base + ${i} + this.tail); }`,
        `set ${field}(v) { if (v.length !== this.tail) throw new Error(\`${name}.${field}: \${v.length} words for \${this.tail}\`); for (let j = 0; j < v.length; j++) this.words[this.base + ${i} + j] = v[j]; }`,
      );
    }
  }
  const source = `return class ${name} { constructor(words, base, tail) { this.words = words; this.base = base; this.tail = tail; } ${accessors.join(' ')} };`;
  const StructView = new Function(source)() as new (words: number[], base: number, tail: number) => View<S>;
  const stores = entries.filter(([, kind]) => kind !== 'tail').map(([field, kind]) => `w[b + ${offset[field]}] = ${kind === 'bool' ? `f.${field} ? 1 : 0` : `f.${field}`};`);
  const write = new Function('w', 'b', 'f', stores.join(' ')) as Struct<S>['write'];
  return {
    schema,
    write,
    offset: offset as { readonly [K in keyof S]: number },
    size: at,
    view: (words, base, tail = 0) => new StructView(words, base, tail),
  };
}
