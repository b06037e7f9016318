/** sort family: not written yet. */
export {};
