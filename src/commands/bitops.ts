/** bitops family: not written yet. */
export {};
