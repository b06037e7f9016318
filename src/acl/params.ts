/**
 * The ACL settings: --aclfile, acllog-max-len, acl-pubsub-default, and
 * requirepass, which is the default user's password as in Redis.
 */
import { defineParam, paramByFlag } from '../config/params.js';
import { setDefaultPassword } from './users.js';
import { logSettings } from './log.js';
import { pubsubDefault } from './selector.js';

defineParam({
  name: 'aclfile',
  type: 'string',
  default: '',
  help: "ACL file in Redis's format (user <name> <rules>): users loaded at start-up and by ACL LOAD, written by ACL SAVE; a relative path is from the working directory",
});
defineParam({
  name: 'acllog-max-len',
  type: 'int',
  default: '128',
  min: 0,
  max: Number.MAX_SAFE_INTEGER,
  mutable: true,
  help: 'entries kept by the ACL log (ACL LOG)',
  apply: (v) => {
    logSettings.maxLen = Number(v);
  },
});
defineParam({
  name: 'acl-pubsub-default',
  type: 'enum',
  values: ['allchannels', 'resetchannels'],
  default: 'resetchannels',
  mutable: true,
  help: 'channel permissions a new ACL user (or selector) starts with',
  apply: (v) => {
    pubsubDefault.allChannels = v === 'allchannels';
  },
});

// requirepass is declared with the server's basic settings; every value it
// takes (default, flag, CONFIG SET) becomes the default user's password.
const requirepass = paramByFlag('requirepass');
if (requirepass === undefined) throw new Error('requirepass must be defined before the ACL module loads');
const before = requirepass.apply;
requirepass.apply = (v) => {
  before?.(v);
  setDefaultPassword(v);
};
