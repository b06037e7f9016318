/** introspection family: not written yet. */
export {};
