import { assignNameMap, assignNames } from "../text/names.js";
import { hex, replaceHidden, visible } from "../text/printable.js";
import { optionalLayerTexts, prelude } from "./prelude.js";

/**
 * The Python printer's escapes and names: every piece of spec text (names, strings, file names)
 * reaches a generated PyTorch module through one of these, never pasted. The naming rule is in
 * README.md ("Names").
 */

/** Python's keywords and soft keywords (3.12: `type`). */
export const pyKeywords: ReadonlySet<string> = new Set(
  (
    "False None True and as assert async await break class continue def del elif else except " +
    "finally for from global if import in is lambda nonlocal not or pass raise return try while " +
    "with yield _ case match type"
  ).split(" "),
);

/** Python's builtins without a leading underscore (3.11 and 3.12). */
export const pyBuiltins: ReadonlySet<string> = new Set(
  (
    "ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup " +
    "BlockingIOError BrokenPipeError BufferError BytesWarning ChildProcessError " +
    "ConnectionAbortedError ConnectionError ConnectionRefusedError ConnectionResetError " +
    "DeprecationWarning EOFError Ellipsis EncodingWarning EnvironmentError Exception " +
    "ExceptionGroup False FileExistsError FileNotFoundError FloatingPointError FutureWarning " +
    "GeneratorExit IOError ImportError ImportWarning IndentationError IndexError " +
    "InterruptedError IsADirectoryError KeyError KeyboardInterrupt LookupError MemoryError " +
    "ModuleNotFoundError NameError None NotADirectoryError NotImplemented NotImplementedError " +
    "OSError OverflowError PendingDeprecationWarning PermissionError ProcessLookupError " +
    "PythonFinalizationError RecursionError ReferenceError ResourceWarning RuntimeError " +
    "RuntimeWarning StopAsyncIteration StopIteration SyntaxError SyntaxWarning SystemError " +
    "SystemExit TabError TimeoutError True TypeError UnboundLocalError UnicodeDecodeError " +
    "UnicodeEncodeError UnicodeError UnicodeTranslateError UnicodeWarning UserWarning " +
    "ValueError Warning ZeroDivisionError abs aiter all anext any ascii bin bool breakpoint " +
    "bytearray bytes callable chr classmethod compile complex copyright credits delattr dict dir " +
    "divmod enumerate eval exec exit filter float format frozenset getattr globals hasattr hash " +
    "help hex id input int isinstance issubclass iter len license list locals map max " +
    "memoryview min next object oct open ord pow print property quit range repr reversed round " +
    "set setattr slice sorted staticmethod str sum super tuple type vars zip"
  ).split(" "),
);

/**
 * Every public member of torch.nn.Module in the torch versions archc targets (1.13 to 2.x):
 * methods and the `training` flag. A submodule attribute with one of these names would shadow
 * it (`self.to = ...` replaces `.to()`). Members with a leading underscore are covered by the
 * rule that no attribute keeps one. test/backends/torch/names.test.ts checks this list against
 * the installed torch.
 */
export const moduleMembers: ReadonlySet<string> = new Set(
  (
    "T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda " +
    "double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter " +
    "get_submodule half ipu load_state_dict modules mtia named_buffers named_children " +
    "named_modules named_parameters parameters register_backward_hook register_buffer " +
    "register_forward_hook register_forward_pre_hook register_full_backward_hook " +
    "register_full_backward_pre_hook register_load_state_dict_post_hook " +
    "register_load_state_dict_pre_hook register_module register_parameter " +
    "register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state " +
    "set_submodule share_memory state_dict to to_empty train training type xpu zero_grad"
  ).split(" "),
);

/**
 * The names a generated module defines or imports at top level, read from the prelude's text
 * (and the optional layers') so that the list follows it.
 */
export function moduleNames(): ReadonlySet<string> {
  const names = new Set<string>();
  for (const text of [prelude, ...optionalLayerTexts()]) {
    for (const line of text.split("\n")) {
      let m: RegExpExecArray | null;
      if ((m = /^(?:class|def) (\w+)/.exec(line))) names.add(m[1]!);
      else if ((m = /^import ([\w.]+)(?: as (\w+))?/.exec(line)))
        names.add(m[2] ?? m[1]!.split(".")[0]!);
      else if ((m = /^from \S+ import (.+)/.exec(line))) {
        for (const item of m[1]!.split(","))
          names.add(
            item
              .trim()
              .split(/\s+as\s+/)
              .pop()!
              .replace(/[()]/g, ""),
          );
      } else if ((m = /^(\w+)\s*(?::[^=]*)?=/.exec(line))) names.add(m[1]!);
    }
  }
  return names;
}

const topLevel = moduleNames();

/**
 * Attribute names (`self.NAME`) of block instances and layers, unique within one class. A name
 * with a leading underscore is prefixed `m` (Python and torch keep those for themselves, and
 * `__x` would be name-mangled); a keyword, builtin or nn.Module member gets `_` appended.
 */
export function pyAttributeNames(names: readonly string[]): string[] {
  return assignNames(names, {
    valid: (n) => validPython(n.startsWith("_") ? `m${n}` : n),
    reserved: (id) => pyKeywords.has(id) || pyBuiltins.has(id) || moduleMembers.has(id),
  });
}

/**
 * Parameter names of a constructor, unique within it: a keyword, a builtin, `self` or a name
 * the module defines at top level (which the constructor's body may call) gets `_` appended.
 */
export function pyParameterNames(
  names: Iterable<string>,
  taken: Set<string> = new Set(),
  reserved: ReadonlySet<string> = new Set(),
): Map<string, string> {
  return assignNameMap(
    names,
    {
      valid: validPython,
      reserved: (id) =>
        id === "self" ||
        pyKeywords.has(id) ||
        pyBuiltins.has(id) ||
        topLevel.has(id) ||
        reserved.has(id),
    },
    taken,
  );
}

/** Whether a generated class may not take `name`: a keyword, builtin or module-level name. */
export function reservedClassName(name: string): boolean {
  return pyKeywords.has(name) || pyBuiltins.has(name) || topLevel.has(name);
}

function validPython(n: string): string {
  const id = n.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[A-Za-z_]/.test(id) ? id : `_${id}`;
}

/** A Python escape for one code point: `\xXX`, `\uXXXX` or `\UXXXXXXXX`. */
function pyEscape(cp: number): string {
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp < 0x10000) return `\\u${hex(cp).toLowerCase()}`;
  return `\\U${cp.toString(16).padStart(8, "0")}`;
}

/** A double-quoted string literal of any text, in plain ASCII. */
export function pyString(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\" || ch === '"') out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else out += pyEscape(cp);
  }
  return `"${out}"`;
}

/**
 * A docstring: `"""`, then `text`'s lines (each after the first indented by `indent`), then
 * `"""`. Backslashes and quotes are escaped, so no `"""`, `\N{...}` or trailing backslash in the
 * text can end it or fail to parse; hidden characters become escapes.
 */
export function pyDocstring(text: string, indent: string): string {
  const lines = text.split(/\r\n|\r|\n/).map((l) =>
    replaceHidden(
      l.replace(/[\\"]/g, (c) => `\\${c}`),
      pyEscape,
    ),
  );
  const body = lines.map((l, i) => (l && i ? `${indent}${l}` : l)).join("\n");
  return lines.length > 1 ? `"""${body}\n${indent}"""` : `"""${body}"""`;
}

/** `#` comments, one per line of `text`, hidden characters made visible. */
export function pyComments(text: string): string[] {
  return text.split(/\r\n|\r|\n/).map((l) => `# ${visible(l)}`.trimEnd());
}
