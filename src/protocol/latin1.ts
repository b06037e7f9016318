/**
 * Node's Buffer has fast latin1 methods that its typings do not declare
 * (`buf.toString('latin1', a, b)` goes through an encoding switch first;
 * these skip it on the hot path). Present in every Node since v6.
 */
declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    latin1Write(s: string, offset: number, length?: number): number;
  }
}
export {};
