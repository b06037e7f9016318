/** lists family: not written yet. */
export {};
