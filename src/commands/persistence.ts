/** persistence family: not written yet. */
export {};
