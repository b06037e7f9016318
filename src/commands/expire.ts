/** expire family: not written yet. */
export {};
