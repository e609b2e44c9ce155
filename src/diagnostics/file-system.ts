// The words for why a file could not be read or written, shared by the spec reader and the atomic writer.

/** The operating system's reason, in words, without Node's "ENOENT: …, open 'path'" decoration. */
export function fileSystemReason(e: unknown): string {
  const reasons: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EISDIR: "it is a directory",
    ENOTDIR: "a part of the path is not a directory",
    EEXIST: "it already exists",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    EAGAIN: "it would block (a FIFO or a device?)",
    ELOOP: "too many symbolic links",
    ENAMETOOLONG: "the name is too long",
  };
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== undefined && Object.hasOwn(reasons, code)) return reasons[code]!;
  return code ?? (e as Error).message;
}
