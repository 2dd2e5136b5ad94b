/**
 * The cache of parsed documents (and of parse errors) that yoga keeps between requests, bounded
 * by size as well as by count. yoga's own cache holds 1,024 documents and 1,024 errors for an
 * hour, keyed by the whole query text: distinct 2 MiB documents — which anyone may send, since
 * parsing comes before authentication — pinned gigabytes (measured: 200 of them added 480 MiB of
 * RSS). A parsed document takes about 100 bytes of heap per character of its text (tokens and
 * locations; measured on a 32 KB document: 3 MB), so here a document longer than
 * `maxDocumentChars` is parsed every time instead (the token limit bounds that work), and the
 * cached texts add up to at most `maxTotalChars` (about 25 MB of heap), least recently used out
 * first. Found by test/api/fuzz.test.ts.
 */
export interface DocumentCacheOptions {
  /** Longer documents are not cached; the UI's and the introspection query are a few KB. @defaultValue 8192 */
  readonly maxDocumentChars?: number;
  /** Characters of all cached documents together. @defaultValue 256 KiB */
  readonly maxTotalChars?: number;
  /** @defaultValue 1000 */
  readonly maxEntries?: number;
}

export class DocumentCache<T> {
  readonly #entries = new Map<string, T>();
  readonly #maxDocumentChars: number;
  readonly #maxTotalChars: number;
  readonly #maxEntries: number;
  #totalChars = 0;

  constructor(options: DocumentCacheOptions = {}) {
    this.#maxDocumentChars = options.maxDocumentChars ?? 8192;
    this.#maxTotalChars = options.maxTotalChars ?? 256 * 1024;
    this.#maxEntries = options.maxEntries ?? 1000;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): T | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: T): void {
    if (key.length > this.#maxDocumentChars) return;
    if (this.#entries.delete(key)) this.#totalChars -= key.length;
    this.#entries.set(key, value);
    this.#totalChars += key.length;
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries && this.#totalChars <= this.#maxTotalChars) break;
      this.#entries.delete(oldest);
      this.#totalChars -= oldest.length;
    }
  }
}
