/** keys family: not written yet. */
export {};
