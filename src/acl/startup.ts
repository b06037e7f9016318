/** --aclfile at start-up: the users are loaded before the port opens, or the server does not start (as Redis). */
import { getString } from '../config/params.js';
import { fatalStartup, log } from '../log.js';
import { parseAclFile } from './file.js';
import { replaceUsers } from './users.js';

export function loadAclFileAtStartup(): void {
  const file = getString('aclfile');
  if (file === '') return;
  const parsed = parseAclFile(file);
  if ('error' in parsed) fatalStartup(`Aborting startup because of ACL errors: ${parsed.error}`, { aclfile: file });
  for (const u of parsed.users.values()) {
    if (!u.enabled) log.info({ user: u.name }, "ACL user is disabled (no 'on' in its rules): make sure this is not a configuration error");
  }
  replaceUsers(parsed.users);
  log.info({ aclfile: file, users: parsed.users.size }, 'ACL users loaded');
}
