import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";

/** A path that is not a readable regular file; the message names it and says what it is. */
export class NotRegularFileError extends Error {}

/**
 * A file's bytes, refusing what is not a regular file: it is opened without blocking (a FIFO
 * would wait for a writer forever) and checked by fstat before anything is read (a link to
 * /dev/zero would never end). `limit` bounds the size read.
 */
export function readRegular(path: string, limit = 2 ** 33): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NotRegularFileError(
      code === "ENOENT"
        ? `${path} does not exist`
        : `${path} cannot be read (${code ?? (e as Error).message})`,
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new NotRegularFileError(
        `${path} is ${st.isDirectory() ? "a folder" : st.isFIFO() ? "a FIFO" : st.isCharacterDevice() || st.isBlockDevice() ? "a device" : "not a regular file"}, where a file was expected`,
      );
    if (st.size > limit)
      throw new NotRegularFileError(`${path} is ${st.size} bytes, more than the ${limit} expected`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
