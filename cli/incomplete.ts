// Whether REPL input so far is an unfinished statement that the next line may complete (an
// open bracket, a trailing operator, an unclosed template or comment), so the line editor
// asks for more with `... ` instead of sending it. Anything else goes to the server as is,
// which reports real syntax errors better than we could.
import { parse } from "acorn";

export function isIncomplete(code: string): boolean {
  const text = code.trimEnd();
  if (text === "") return false;
  try {
    parse(text, { ecmaVersion: "latest", sourceType: "module", allowAwaitOutsideFunction: true, allowReturnOutsideFunction: true, allowHashBang: true });
    return false;
  } catch (err) {
    const { message, pos } = err as { message: string; pos?: number };
    if (/^(Unterminated template|Unterminated comment|Unexpected end of input)/.test(message)) return true;
    // acorn reports running out of input as an unexpected token at the very end.
    return /^Unexpected token/.test(message) && pos !== undefined && pos >= text.length;
  }
}
