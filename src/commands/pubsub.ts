/** pubsub family: not written yet. */
export {};
