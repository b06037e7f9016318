/**
 * The ACL file (--aclfile, ACL LOAD, ACL SAVE) in Redis's format: one
 * `user <name> <rules...>` line per user, rules separated by single
 * spaces, selectors in parentheses. Loading is all or nothing: any error
 * keeps the users as they were and lists every problem in one line.
 */
import { readFileSync, writeFileSync, renameSync, unlinkSync } from 'node:fs';
import { User, mergeSelectorArgs } from './user.js';
import { RuleError, RULE_ERROR_TEXT } from './selector.js';
import { hasSpacesOrNul } from './users.js';

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
};

function strerror(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return (err.code && STRERROR[err.code]) ?? err.message;
}

function trimChars(s: string, chars: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && chars.includes(s[a])) a++;
  while (b > a && chars.includes(s[b - 1])) b--;
  return s.slice(a, b);
}

/** Redis's ACLLoadFromFile, without applying: the new users, or the error line. */
export function parseAclFile(filename: string): { users: Map<string, User> } | { error: string } {
  let text: string;
  try {
    text = readFileSync(filename, 'latin1');
  } catch (e) {
    return { error: `Error loading ACLs, opening file '${filename}': ${strerror(e)}` };
  }
  const users = new Map<string, User>();
  let errors = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const linenum = i + 1;
    const line = trimChars(lines[i], ' \t\r\n');
    if (line === '') continue;
    const argv = line.split(' ');
    if (argv[0] !== 'user' || argv.length < 2) {
      errors += `${filename}:${linenum} should start with user keyword followed by the username. `;
      continue;
    }
    const name = argv[1];
    if (hasSpacesOrNul(name)) {
      errors += `'${filename}:${linenum}: username '${name}' contains invalid characters. `;
      continue;
    }
    if (users.has(name)) {
      errors += `WARNING: Duplicate user '${name}' found on line ${linenum}. `;
      continue;
    }
    const u = new User(name);
    users.set(name, u);
    const merged = mergeSelectorArgs(argv.slice(2));
    if ('unclosed' in merged) {
      errors += `${filename}:${linenum}: Unmatched parenthesis in selector definition.`;
      continue;
    }
    let syntaxError = false;
    for (const raw of merged.args) {
      const op = trimChars(raw, '\t\r\n');
      try {
        u.apply(op);
      } catch (e) {
        if (!(e instanceof RuleError)) throw e;
        const msg = RULE_ERROR_TEXT[e.code];
        // An unknown command is named (it holds no secret); other errors
        // only by kind, since the rule may be a password.
        if (e.code === 'ENOENT') errors += `${filename}:${linenum}: Error in applying operation '${op}': ${msg}. `;
        else if (!syntaxError) {
          errors += `${filename}:${linenum}: ${msg}. `;
          syntaxError = true;
        }
      }
    }
  }
  if (errors !== '') return { error: errors + 'WARNING: ACL errors detected, no change to the previously active ACL rules was performed' };
  return { users };
}

/** Redis's ACLSaveToFile: written to a temporary file, then renamed over. */
export function saveAclFile(filename: string, users: User[]): void {
  const text = users.map((u) => `user ${u.name} ${u.describe()}\n`).join('');
  const tmp = `${filename}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, text, { encoding: 'latin1', mode: 0o644 });
    renameSync(tmp, filename);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    throw e;
  }
}
