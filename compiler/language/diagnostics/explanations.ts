import type { Code } from "../../../grammar/codes.js";

/**
 * The long form of each diagnostic code, shown by `archc explain CODE` as rustc shows its own.
 * Each says what the code means, its usual causes and what a fix looks like; the one-line title
 * stays in the catalogue (grammar/codes.ts). test/language/explain.test.ts checks that every
 * code of the catalogue has one.
 */
export const explanations: { readonly [C in Code]?: string } = {
  E0100: `A file named on the command line or in an import could not be read: it does not exist,
is not readable, or is not a regular file.

Check the path (relative paths are resolved from the current folder on the command line and
from the importing file's folder in an import).`,

  E0101: `The lexer met a character that starts no token of the language, such as \`$\` or \`@\`.

Names are letters, digits and \`_\`; comments start with \`#\`; strings are in double quotes.`,

  E0102: `The text does not follow the grammar at this point. The message says what was found and
what could come there instead.

    conv 3x3 64 -> -> relu     # error: a layer was expected after '->'
    conv 3x3 64 -> relu        # ok

archc reports every syntax error of a file, not only the first.`,

  E0104: `The text nests too deeply (blocks, parentheses, repeats or conditionals inside one another)
for archc to check it safely. No real network needs this depth: flatten the nesting, or move
an inner part into a block of its own.`,

  E0105: `The spec file is larger than archc reads, or is not a regular file (a folder, a device, a
pipe). Specs are small text files; generated specs should be split with imports.`,

  E0106: `An expression has more terms than archc evaluates. Compute the value in fewer terms, for
example with multiplication, or with a \`let\` binding.`,

  E0200: `An import names a file that cannot be found. Imports take a standard-library module
(\`import "std/xception"\`) or a path relative to the importing file (\`import "./blocks"\`),
without the \`.arch\` ending.`,

  E0201: `Files import each other in a cycle (a imports b, b imports a). Move what both need into a
third file that both import.`,

  E0202: `An import reaches outside the folder of the spec given on the command line (or outside the
standard library), for example through \`../\` or a symbolic link. A spec may only read files
below its own folder, so that checking a spec never reads unrelated files.`,

  E0203: `A name is used that no declaration, parameter, \`let\` or built-in layer defines. The hint
names the closest known name.

    conv 3x3 64 bn relu        # error: 'bn' is read as an argument of conv
    conv 3x3 64 -> bn -> relu  # ok: a chain of three layers`,

  E0204: `The same name is declared twice: two declarations anywhere in the files reached through
imports, two parameters of one block, two layers given the same \`name\`, or a block named like
a built-in layer. Rename one of them. A block's name also names layers (\`entry_1/conv\`), so it
starts with a letter, as a layer name does: tfjs' weight names must.`,

  E0205: `A block uses itself, directly or through other blocks. Blocks are expanded when a network is
built, so recursion would never end; use \`repeat N { ... }\` for repetition.`,

  E0206: `Something is called where it cannot be: a network used inside a chain (networks are entry
points; put shared layers in a block), or an unknown function inside an expression.`,

  E0300: `A keyword argument, parameter, setting or figure has a name that the layer, block, network
or declaration does not take. The hint names the closest one.

    conv 3x3 64 strides=2      # error: conv has no argument 'strides'
    conv 3x3 64 stride=2       # ok`,

  E0301: `More positional arguments were given than the layer or block takes, or an experiment's
\`with\` list names a different number of train configs than it compares models.`,

  E0302: `A required argument or value is missing, for example a block parameter without a default
that the call does not give, or \`conv 3x3\` without a filter count.`,

  E0303: `An argument has the wrong type for where it goes, or a bare value matches no open
attribute of the layer.

    conv 3x3 64 padding=1      # error: padding takes same or valid
    conv 3x3 64 padding=same   # ok
    conv 3x3 64 pad=1          # ok: explicit padding, as PyTorch's padding=1`,

  E0304: `An argument or setting is given twice in one call or declaration, for example
\`conv 3x3 64 stride=2 stride=1\` or a train config with two \`lr\` entries. Keep one.`,

  E0305: `A value is of the right type but out of range or inconsistent: a negative stride, \`parts\`
given together with \`width\`, an unknown optimizer or schedule, a rate outside its range.`,

  E0400: `A partitioned convolution splits its input channels into \`parts\` segments (Xception's
continuum: \`parts = 1\` is a regular convolution, \`parts = depthwise\` one segment per
channel). The channel count must be divisible by \`parts\` (or by \`width\`, channels per
segment). The message names the layer, the block calls it sits in, and the nearest valid
values.

    sepconv 3x3 728 parts=5    # error with 728 input channels: nearest valid are 4 and 7
    sepconv 3x3 728 parts=4    # ok

\`archc sweep --snap\` moves each layer to its nearest valid value and records it.

A channel shuffle (\`shuffle groups\`) has the same rule: its groups must divide the input
channels, and the message lists their divisors.

    shuffle 8    # error with 60 input channels: nearest valid are 6 and 10`,

  E0401: `The spatial size is too small for the window: with \`valid\` padding a layer needs at
least as many pixels as its (dilated) kernel, counting what an explicit \`pad\` adds. Use \`same\`
padding, more \`pad\`, a smaller kernel or stride, or a larger input.`,

  E0402: `The branches of an \`add\` or \`mul\` (or a \`residual\` body and its shortcut) give
tensors of different shapes; an element-wise sum needs equal shapes. For a residual, a
projection shortcut (\`residual { body } shortcut { conv 1x1/2 64 }\`) matches channels and
stride. A \`mul\` also takes a per-channel gate, [c] (\`gap -> dense c sigmoid\`) or [1, 1, c],
beside an [h, w, c] image with the same c: that is squeeze-and-excitation.`,

  E0403: `The branches of a \`concat\` give tensors of different spatial sizes; concatenation along
channels needs equal height and width. Match strides and padding across the branches.`,

  E0404: `A layer gets a tensor of the wrong rank: a spatial layer (conv, pool) after \`gap\` or
\`flatten\`, or \`dense\` on an image (add \`gap\` or \`flatten\` first).`,

  E0405: `A network has no \`input\`, a second \`input\`, or no layers. A network starts with exactly
one \`input HxWxC\`.`,

  E0500: `An expression combines values of types that do not go together, such as adding a boolean
to a number, or an \`if\` whose test is not a boolean.`,

  E0501: `An expression divides by zero (\`/\` or \`%\`). Often a parameter's value makes it zero
(\`in / groups\` with \`groups = 0\`); check the arguments given.`,

  E0502: `A \`repeat\` count must be a whole number >= 0.`,

  E0503: `Building the network would create more layers than the limit (100,000 by default), for
example through a huge \`repeat\` or blocks that call each other many times over. The limit
keeps archc's time and memory bounded; raise it with \`--max-layers\` if the network is meant
to be that large.`,

  E0504: `A function in an expression gets an argument outside its domain: \`log\` of zero or a
negative number, \`pow\` of a negative base to a fractional power, or a result too large to be
a number. The error points at the argument; for a logarithm base b write \`log(x) / log(b)\`.`,

  E0505: `A range (\`16..64\`, \`16..64 step 16\`) gives the integers from its start to its end,
counting up by its step (1 by default); the end is included when the steps reach it. Its start,
end and step must be integers, the step 1 or more, the end not below the start, and it may give
at most 10,000 values. Ranges are for sweep values: \`sweep width = 16..64 step 16\`, or
\`--sweep 'width=16..64 step 16'\` on the command line.`,

  E0600: `The network asked for (\`--network NAME\`) is not declared in the file, or the file declares
no network. \`archc list FILE\` shows what it declares. \`archc check\` reports it for a file that
declares nothing at all (empty, or only comments: usually a wrong path or a file cut short); a
file of blocks, train configs or imports alone is a library and checks clean.`,

  E0601: `A \`--set name=value\` is malformed, names a parameter the network does not have, or its
value does not parse as an expression of the language (\`--set parts=4\`,
\`--set mid=relu\`, \`--set residual=false\`).`,

  E0602: `An \`expect\` block states figures (params, MACs, output shape) that the built network
does not reach. Either the network or the expectation is wrong; the message gives both values.`,

  E0603: `A declaration named on the command line (\`--experiment\`, \`--config\`) does not exist in
the file. \`archc list FILE\` shows what it declares.`,

  E0604: `The file declares several \`train\` configs and the command was not told which one to
use. With one config archc uses it (and says so); with several it asks, so that adding a config
to a file never silently changes what an earlier command trains with. Pass \`--config NAME\`.`,

  E0605: `A design space searched (\`archc search\`, or an experiment with \`where\`, \`samples\` or
\`sweep p = all\`) has no configuration that meets its constraints. The message names the
constraint that removed the last configurations and the nearest budget that would admit one:
loosen it to that, or widen the axes.`,

  E0606: `A constraint (\`where macs <= 20M\`, \`--where 'params < 1.5M'\`) must compare one exact cost
(\`params\`, \`trainable\` or \`macs\`) with a number, using <, <=, > or >=. Numbers may end in
k, M or G (thousand, million, billion). \`latency\` is measured, and is compared with a positive
time whose unit is written on the number: \`latency <= 5ms\`, \`250us\`, \`0.5s\`.`,
};
