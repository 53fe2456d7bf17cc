/** Linux errno values the emulated driver returns, and ERR_PTR. */
export const ENOENT = 2;
export const EIO = 5;
const ENXIO = 6;
export const ENOMEM = 12;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const ENOSPC = 28;
export const EINVAL = 22;
const ERANGE = 34;
export const EOVERFLOW = 75;
export const EOPNOTSUPP = 95;
export const ETIMEDOUT = 110;

const NAMES: Record<number, string> = {
  [ENOENT]: "ENOENT",
  [EIO]: "EIO",
  [ENXIO]: "ENXIO",
  [ENOMEM]: "ENOMEM",
  [EBUSY]: "EBUSY",
  [EEXIST]: "EEXIST",
  [ENODEV]: "ENODEV",
  [ENOSPC]: "ENOSPC",
  [EINVAL]: "EINVAL",
  [ERANGE]: "ERANGE",
  [EOVERFLOW]: "EOVERFLOW",
  [EOPNOTSUPP]: "EOPNOTSUPP",
  [ETIMEDOUT]: "ETIMEDOUT",
};

/** Errno values by name ("ENOMEM" -> 12). */
export const ERRNOS: ReadonlyMap<string, number> = new Map(Object.entries(NAMES).map(([v, name]) => [name, Number(v)]));

/** "-ENOMEM" for 12. */
export function errnoName(errno: number): string {
  return `-${NAMES[errno] ?? String(errno)}`;
}

/** A kernel ERR_PTR(-errno): a pointer value that must never be dereferenced. */
export class ErrPtr {
  constructor(readonly errno: number) {}
  toString(): string {
    return `ERR_PTR(${errnoName(this.errno)})`;
  }
}

/** IS_ERR() */
export function isErr(x: unknown): x is ErrPtr {
  return x instanceof ErrPtr;
}
