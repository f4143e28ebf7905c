import { codes, type Code } from "../../../grammar/codes.js";
import { explanations } from "../../language/diagnostics/explanations.js";
import { didYouMean } from "../../language/suggest.js";
import { Exit, type IO } from "../io.js";

function isCode(s: string): s is Code {
  return Object.hasOwn(codes, s);
}

/** `archc explain [CODE]`: the long form of a diagnostic code, or the list of all codes. */
export function explainCommand(io: IO, code: string | undefined): number {
  if (code === undefined) {
    for (const [c, title] of Object.entries(codes)) io.out(`${c}  ${title}`);
    return Exit.ok;
  }
  const wanted = code.toUpperCase();
  if (!isCode(wanted)) {
    const hint = didYouMean(wanted, Object.keys(codes));
    io.err(
      `archc explain: no diagnostic code '${code}'${hint ? `; ${hint}` : ""} (archc explain lists them all)`,
    );
    return Exit.usage;
  }
  io.out(`${wanted}: ${codes[wanted]}\n\n${explanations[wanted] ?? ""}`.trimEnd());
  return Exit.ok;
}
