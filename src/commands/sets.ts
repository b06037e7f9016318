/** sets family: not written yet. */
export {};
