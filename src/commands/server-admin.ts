/** server-admin family: not written yet. */
export {};
