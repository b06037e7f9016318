/** What we tell clients (HELLO, INFO): the Redis version whose behaviour we follow, and our own. */
export const VERSION = {
  redis: '7.0.15',
  damselfly: '0.1.0',
} as const;
