/**
 * The catalogue of diagnostic codes. Codes are stable: tests, docs and users' scripts refer to
 * them. Messages are written at the report site because they carry the values involved.
 */
export const codes = {
  // E01xx: reading files and syntax
  E0100: "file cannot be read",
  E0101: "unexpected character",
  E0102: "syntax error",
  E0104: "nested too deeply",
  E0105: "file too large or not a regular file",
  E0106: "expression too long",
  // E02xx: imports and names
  E0200: "import not found",
  E0201: "import cycle",
  E0202: "import escapes the spec folder",
  E0203: "unknown name",
  E0204: "duplicate definition",
  E0205: "recursive block",
  E0206: "not callable here",
  // E03xx: arguments
  E0300: "unknown argument",
  E0301: "too many arguments",
  E0302: "missing argument",
  E0303: "wrong argument type",
  E0304: "duplicate argument",
  E0305: "invalid argument value",
  // E04xx: shapes and partitions
  E0400: "channels not divisible by parts or shuffle groups",
  E0401: "spatial size too small",
  E0402: "add or mul of mismatched shapes",
  E0403: "concat of mismatched spatial sizes",
  E0404: "wrong input rank",
  E0405: "missing input",
  // E05xx: evaluation
  E0500: "type error in expression",
  E0501: "division by zero",
  E0502: "repeat count invalid",
  E0503: "network too large",
  E0504: "argument outside a function's domain",
  E0505: "empty or ill-formed range",
  // E06xx: command line and programs
  E0600: "network not found",
  E0601: "bad --set value",
  E0602: "expectation not met",
  E0603: "declaration not found",
  E0604: "which train config",
  E0605: "empty design space",
  E0606: "bad constraint",
} as const;

export type Code = keyof typeof codes;
