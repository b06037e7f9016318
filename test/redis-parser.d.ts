declare module 'redis-parser';
