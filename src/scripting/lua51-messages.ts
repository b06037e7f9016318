/**
 * Lua 5.4 names the culprit of a type error after the value ("attempt to
 * call a nil value (field 'f')"); Redis's Lua 5.1 names it first ("attempt
 * to call field 'f' (a nil value)"). Scripts and tests match on the 5.1
 * text, so runtime errors are reworded before they reach the caller.
 */
const TYPE_ERROR = /attempt to (.+?) a (\w+) value \((global|local|field|method|upvalue) '([^']*)'\)/g;

export function as51ErrorText(msg: string): string {
  return msg.includes('attempt to ') ? msg.replace(TYPE_ERROR, "attempt to $1 $3 '$4' (a $2 value)") : msg;
}
