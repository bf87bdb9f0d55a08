/** What a piece of `content` turned out to be once inline think tags are taken out. */
export interface SplitText {
  content?: string;
  reasoning?: string;
  /** The content given out so far was reasoning (an implicit open tag just closed): move it. */
  contentIsReasoning?: true;
}

const OPEN = '<think>';
const CLOSE = '</think>';

/** How many characters at the end of `text` could be the start of `tag` (held until the next piece decides). */
function partialTagAt(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) if (tag.startsWith(text.slice(text.length - n))) return n;
  return 0;
}

/**
 * Splits `<think>…</think>` out of streamed `content`, the third way models send reasoning (beside
 * `reasoning_content` and `reasoning`). Tags may be cut anywhere between chunks: a tail that could be
 * the start of a tag is held until the next piece says what it is (at most 8 characters). The open
 * tag counts only at the start of the answer (after whitespace); a model whose template opened it
 * already sends only the close tag: then the content given out before it was reasoning, which the
 * caller is told (`contentIsReasoning`). Whitespace right after a tag is dropped.
 */
export class ThinkTagSplitter {
  private state: 'start' | 'content' | 'think' = 'start';
  /** Text not given out yet: a possible partial tag, or leading whitespace. */
  private held = '';
  /** Whitespace after a tag is dropped until something else comes. */
  private trimNext = false;
  private sawTag = false;

  push(piece: string): SplitText {
    // Past the start, with nothing held: a piece with no '<' can hold no tag, nor the start of one.
    if (this.state === 'content' && this.held === '' && !this.trimNext && (this.sawTag || !piece.includes('<'))) return { content: piece };
    let text = this.held + piece;
    this.held = '';
    const out: { content: string[]; reasoning: string[]; contentIsReasoning?: true } = { content: [], reasoning: [] };
    while (text !== '') {
      if (this.trimNext) {
        text = text.replace(/^\s+/, '');
        if (text === '') break;
        this.trimNext = false;
      }
      if (this.state === 'start') {
        const lead = /^\s*/.exec(text)![0];
        const rest = text.slice(lead.length);
        if (rest.startsWith(OPEN)) {
          this.state = 'think';
          this.sawTag = true;
          this.trimNext = true;
          text = rest.slice(OPEN.length);
          continue;
        }
        if (rest === '' || OPEN.startsWith(rest)) {
          this.held = text; // Only whitespace, or the open tag cut short: undecided.
          break;
        }
        this.state = 'content';
        continue;
      }
      const tag = this.state === 'think' ? CLOSE : this.sawTag ? undefined : CLOSE;
      const at = tag ? text.indexOf(tag) : -1;
      if (at >= 0) {
        const before = text.slice(0, at);
        if (this.state === 'think') {
          if (before) out.reasoning.push(before);
        } else {
          // A close tag with no open one: everything so far was reasoning.
          if (before) out.reasoning.push(before);
          out.contentIsReasoning = true;
          out.content = [];
        }
        this.state = 'content';
        this.sawTag = true;
        this.trimNext = true;
        text = text.slice(at + CLOSE.length);
        continue;
      }
      const keep = tag ? partialTagAt(text, tag) : 0;
      const given = text.slice(0, text.length - keep);
      this.held = text.slice(text.length - keep);
      if (given) (this.state === 'think' ? out.reasoning : out.content).push(given);
      break;
    }
    return shape(out);
  }

  /** At the end of the stream: what was held, as what it was going to be. */
  flush(): SplitText {
    const held = this.held;
    this.held = '';
    if (held === '' || this.trimNext) return {};
    if (this.state === 'think') return { reasoning: held };
    // A stream that ends in whitespace only, before any answer: nothing worth giving out.
    if (this.state === 'start' && held.trim() === '') return {};
    return { content: held };
  }
}

function shape(out: { content: string[]; reasoning: string[]; contentIsReasoning?: true }): SplitText {
  const r: SplitText = {};
  if (out.contentIsReasoning) r.contentIsReasoning = true;
  if (out.reasoning.length) r.reasoning = out.reasoning.join('');
  if (out.content.length) r.content = out.content.join('');
  return r;
}
