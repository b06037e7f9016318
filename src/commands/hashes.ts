/** hashes family: not written yet. */
export {};
