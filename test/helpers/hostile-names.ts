/** Quotes, slashes, a backslash, RTL override and mark, then 300 emoji (1,200 bytes): a name every rule must survive. */
export const HOSTILE_NAME = `"Q" a/b\\c \u202Eevil\u202C \u200F${'😀'.repeat(300)}`;
