/** transactions family: not written yet. */
export {};
