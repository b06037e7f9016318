/** zsets family: not written yet. */
export {};
