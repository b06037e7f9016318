/** Redis's RDB settings that apply here: DUMP payloads and RDB files written by `damselfly rdb export`. */
import { defineParam, getBool } from '../config/params.js';

defineParam({ name: 'rdbcompression', type: 'bool', default: 'yes', mutable: true, help: 'LZF-compress strings longer than 20 bytes in DUMP payloads and exported RDB files, as Redis does' });
defineParam({ name: 'rdbchecksum', type: 'bool', default: 'yes', mutable: true, help: 'end exported RDB files with a CRC-64 (no: zero, which Redis and this server then do not check)' });

export function rdbCompression(): boolean {
  return getBool('rdbcompression');
}

export function rdbChecksum(): boolean {
  return getBool('rdbchecksum');
}
