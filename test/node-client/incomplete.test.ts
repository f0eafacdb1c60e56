// When the REPL's line editor waits for more input instead of sending what was typed.
import { expect, it } from "vitest";
import { isIncomplete } from "../../cli/incomplete";

it("continues unfinished statements and sends complete or hopeless ones", () => {
  for (const code of ["function f() {", "foo(1,", "1 +", "const o = {a: 1,", "`line one", "/* a comment", "if (x) {} else", "class A {\n  m() {"]) {
    expect([code, isIncomplete(code)]).toEqual([code, true]);
  }
  // Complete, or wrong in a way more input cannot fix: the server reports those.
  for (const code of ["1 + 1", "await x", "x)", "'unterminated", "const a = 1;", "", "   ", "function f() {\n  return 1\n}"]) {
    expect([code, isIncomplete(code)]).toEqual([code, false]);
  }
});
